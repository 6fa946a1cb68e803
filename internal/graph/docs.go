package graph

import (
	"encoding/binary"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The documents Graph v1.0 returns for new objects: every property it
// lists by default, null or empty where the request set none.

func newApplication(id, appID, tenantID string, in map[string]any, now time.Time) map[string]any {
	doc := map[string]any{
		"id": id, "deletedDateTime": nil, "appId": appID, "applicationTemplateId": nil, "disabledByMicrosoftStatus": nil,
		"createdDateTime": now.Format(time.RFC3339), "displayName": nil, "description": nil, "groupMembershipClaims": nil,
		"identifierUris": []any{}, "isDeviceOnlyAuthSupported": nil, "isFallbackPublicClient": nil, "nativeAuthenticationApisEnabled": nil,
		"notes": nil, "publisherDomain": DefaultDomain(tenantID), "serviceManagementReference": nil, "signInAudience": "AzureADMyOrg",
		"tags": []any{}, "tokenEncryptionKeyId": nil, "uniqueName": nil, "samlMetadataUrl": nil, "defaultRedirectUri": nil,
		"certification": nil, "optionalClaims": nil, "requestSignatureVerification": nil, "addIns": []any{},
		"api": map[string]any{"acceptMappedClaims": nil, "knownClientApplications": []any{}, "requestedAccessTokenVersion": nil,
			"oauth2PermissionScopes": []any{}, "preAuthorizedApplications": []any{}},
		"appRoles":       []any{},
		"info":           map[string]any{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil, "supportUrl": nil, "termsOfServiceUrl": nil},
		"keyCredentials": []any{}, "parentalControlSettings": map[string]any{"countriesBlockedForMinors": []any{}, "legalAgeGroupRule": "Allow"},
		"passwordCredentials": []any{}, "publicClient": map[string]any{"redirectUris": []any{}},
		"requiredResourceAccess": []any{},
		"verifiedPublisher":      map[string]any{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
		"web": map[string]any{"homePageUrl": nil, "logoutUrl": nil, "redirectUris": []any{},
			"implicitGrantSettings": map[string]any{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
			"redirectUriSettings":   []any{}},
		"spa": map[string]any{"redirectUris": []any{}},
	}
	merge(doc, in)
	return doc
}

func newServicePrincipal(id string, app *Object, tenantID string, in map[string]any, now time.Time) map[string]any {
	names := []any{app.str("appId")}
	if uris, ok := app.rec.Doc["identifierUris"].([]any); ok {
		names = append(names, uris...)
	}
	doc := map[string]any{
		"id": id, "deletedDateTime": nil, "accountEnabled": true, "alternativeNames": []any{}, "appDisplayName": app.rec.Doc["displayName"],
		"appDescription": nil, "appId": app.str("appId"), "applicationTemplateId": nil, "appOwnerOrganizationId": strings.ToLower(tenantID),
		"appRoleAssignmentRequired": false, "createdDateTime": now.Format(time.RFC3339), "description": nil, "disabledByMicrosoftStatus": nil,
		"displayName": app.rec.Doc["displayName"], "homepage": nil, "loginUrl": nil, "logoutUrl": nil, "notes": nil,
		"notificationEmailAddresses": []any{}, "preferredSingleSignOnMode": nil, "preferredTokenSigningKeyThumbprint": nil,
		"replyUrls": []any{}, "servicePrincipalNames": names, "servicePrincipalType": "Application",
		"signInAudience": app.rec.Doc["signInAudience"], "tags": []any{}, "tokenEncryptionKeyId": nil, "samlSingleSignOnSettings": nil,
		"addIns": []any{}, "appRoles": app.rec.Doc["appRoles"],
		"info":           map[string]any{"logoUrl": nil, "marketingUrl": nil, "privacyStatementUrl": nil, "supportUrl": nil, "termsOfServiceUrl": nil},
		"keyCredentials": []any{}, "oauth2PermissionScopes": []any{}, "passwordCredentials": []any{},
		"resourceSpecificApplicationPermissions": []any{},
		"verifiedPublisher":                      map[string]any{"displayName": nil, "verifiedPublisherId": nil, "addedDateTime": nil},
	}
	merge(doc, in)
	return doc
}

func newUser(id string, in map[string]any) map[string]any {
	doc := map[string]any{
		"id": id, "businessPhones": []any{}, "displayName": nil, "givenName": nil, "jobTitle": nil, "mail": nil,
		"mobilePhone": nil, "officeLocation": nil, "preferredLanguage": nil, "surname": nil, "userPrincipalName": nil,
		"accountEnabled": true, "mailNickname": nil, "userType": "Member",
	}
	merge(doc, in)
	delete(doc, "passwordProfile")
	return doc
}

func newGroup(id string, in map[string]any, now time.Time) map[string]any {
	doc := map[string]any{
		"id": id, "deletedDateTime": nil, "classification": nil, "createdDateTime": now.Format(time.RFC3339), "creationOptions": []any{},
		"description": nil, "displayName": nil, "expirationDateTime": nil, "groupTypes": []any{}, "isAssignableToRole": nil,
		"mail": nil, "mailEnabled": false, "mailNickname": nil, "membershipRule": nil, "membershipRuleProcessingState": nil,
		"onPremisesDomainName": nil, "onPremisesLastSyncDateTime": nil, "onPremisesNetBiosName": nil, "onPremisesSamAccountName": nil,
		"onPremisesSecurityIdentifier": nil, "onPremisesSyncEnabled": nil, "preferredDataLocation": nil, "preferredLanguage": nil,
		"proxyAddresses": []any{}, "renewedDateTime": now.Format(time.RFC3339), "resourceBehaviorOptions": []any{},
		"resourceProvisioningOptions": []any{}, "securityEnabled": true, "securityIdentifier": sid(id), "theme": nil,
		"uniqueName": nil, "visibility": nil, "onPremisesProvisioningErrors": []any{}, "serviceProvisioningErrors": []any{},
	}
	merge(doc, in)
	return doc
}

// sid is a group's security identifier, derived from its object ID as
// Entra derives it: S-1-12-1 and the GUID's 16 bytes (in .NET's order) as
// four little-endian 32-bit words.
func sid(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	b := u[:]
	// .NET's GUID byte order swaps the first three fields.
	net := []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
	parts := make([]string, 4)
	for i := range parts {
		parts[i] = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(net[i*4:])), 10)
	}
	return "S-1-12-1-" + strings.Join(parts, "-")
}

// merge copies a request body's properties over a document (a PATCH, or
// a POST's given properties over the defaults).
func merge(doc, in map[string]any) {
	maps.Copy(doc, in)
}

// DefaultDomain is the verified domain of a tenant's directory.
func DefaultDomain(string) string { return "localaks.onmicrosoft.com" }
