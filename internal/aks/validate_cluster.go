package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/graph"
	"github.com/localaks/localaks/internal/provider/authorization"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// AKS's rules for a cluster's spec and identity.

// ValidateCluster checks a new cluster (defaulted) and its pools.
func (v *Rules) ValidateCluster(tx store.Tx, c *Cluster, pools []*Pool) error {
	p := &c.Props
	if err := ValidateClusterName(c.Record.Name); err != nil {
		return err
	}
	if err := c.checkAutoScalerProfile(); err != nil {
		return err
	}
	if p.DNSPrefix != "" && !dnsPrefixRule.MatchString(p.DNSPrefix) {
		return invalidParameter("dnsPrefix",
			"DNS prefix '%s' is invalid. It must contain between 1 and 54 characters: letters, numbers and hyphens, starting and ending with a letter or number", p.DNSPrefix)
	}
	if p.DNSPrefix != "" && p.FQDNSubdomain != "" {
		return invalidParameter("fqdnSubdomain", "dnsPrefix and fqdnSubdomain can not both be set")
	}
	if err := validateAPIServerAccess(p.APIServerAccessProfile); err != nil {
		return err
	}
	resolved, ok := Versions.Resolve(p.KubernetesVersion)
	if !ok {
		return badRequest("K8sVersionNotSupported", "kubernetesVersion",
			"Managed cluster %s has invalid version %s. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list",
			c.Record.Name, p.KubernetesVersion)
	}
	if p.KubernetesVersion == "" {
		p.KubernetesVersion = resolved
	}
	p.CurrentKubernetesVersion = resolved
	if p.LinuxProfile != nil {
		if !adminUserRule.MatchString(p.LinuxProfile.AdminUsername) {
			return invalidParameter("linuxProfile.adminUsername", "Admin username '%s' is invalid", p.LinuxProfile.AdminUsername)
		}
		if len(p.LinuxProfile.SSH.PublicKeys) > 1 {
			return invalidParameter("linuxProfile.ssh.publicKeys", "At most one SSH public key is supported")
		}
	}
	if isTrue(p.DisableLocalAccounts) && len(p.AADProfile) == 0 {
		return badRequest("BadRequest", "disableLocalAccounts",
			"Local accounts can only be disabled on clusters with Azure AD integration enabled (aadProfile).")
	}
	if p.NodeResourceGroupProfile != nil {
		switch p.NodeResourceGroupProfile.RestrictionLevel {
		case "", "Unrestricted", "ReadOnly":
		default:
			return invalidParameter("nodeResourceGroupProfile.restrictionLevel", "Restriction level '%s' is not supported; use Unrestricted or ReadOnly", p.NodeResourceGroupProfile.RestrictionLevel)
		}
	}
	cid := resourceid.MustParse(c.Record.ID)
	if strings.EqualFold(p.NodeResourceGroup, cid.ResourceGroupName()) {
		return invalidParameter("nodeResourceGroup", "The node resource group can not be the cluster's own resource group '%s'", p.NodeResourceGroup)
	}
	if _, err := tx.Get(resourceid.ResourceGroup(cid.SubscriptionID(), p.NodeResourceGroup).String()); err == nil {
		return badRequest("InvalidParameter", "nodeResourceGroup",
			"Node resource group '%s' under subscription '%s' already exists, please provide a new one", p.NodeResourceGroup, cid.SubscriptionID())
	}
	if len(pools) == 0 {
		return invalidParameter("agentPoolProfiles", "At least one agent pool is required")
	}
	if len(pools) > p.MaxAgentPools {
		return invalidParameter("agentPoolProfiles", "A cluster can have at most %d agent pools", p.MaxAgentPools)
	}
	seen := map[string]bool{}
	system := false
	for _, pool := range pools {
		if seen[pool.Record.Name] {
			return invalidParameter("agentPoolProfile.name", "Agent pool name '%s' is used more than once", pool.Record.Name)
		}
		seen[pool.Record.Name] = true
		if err := v.ValidatePool(c, pool); err != nil {
			return err
		}
		system = system || pool.Props.Mode == "System"
	}
	if !system {
		return badRequest("InvalidParameter", "agentPoolProfiles", "Must define at least one system pool.")
	}
	return v.validateNetwork(tx, c, pools)
}

// checkAAD checks aadProfile as AKS does and fills the tenant of
// AKS-managed Entra ID integration (the subscription's when none is
// given). Only managed integration exists: the legacy one (client and
// server applications of one's own) is retired, and once on, managed
// integration cannot be turned off. prev is the profile before an update.
func checkAAD(c *Cluster, prev json.RawMessage, tenantID string) error {
	var aad map[string]any
	if len(c.Props.AADProfile) > 0 && string(c.Props.AADProfile) != "null" {
		if err := json.Unmarshal(c.Props.AADProfile, &aad); err != nil || aad == nil {
			return invalidParameter("aadProfile", "The aadProfile must be an object")
		}
	}
	wasManaged := false
	if len(prev) > 0 {
		var old struct {
			Managed bool `json:"managed"`
		}
		wasManaged = json.Unmarshal(prev, &old) == nil && old.Managed
	}
	managed, _ := aad["managed"].(bool)
	if wasManaged && !managed {
		return badRequest("BadRequest", "aadProfile.managed", "Managed Microsoft Entra integration cannot be disabled once it is enabled.")
	}
	if aad == nil {
		return nil
	}
	if !managed {
		return badRequest("BadRequest", "aadProfile.managed",
			"Azure AD integration (legacy, with clientAppID and serverAppID) is retired; use AKS-managed Microsoft Entra integration (aadProfile.managed: true). See https://aka.ms/aks/managed-aad")
	}
	if groups, ok := aad["adminGroupObjectIDs"].([]any); ok {
		for _, g := range groups {
			s, _ := g.(string)
			if _, err := uuid.Parse(s); err != nil {
				return invalidParameter("aadProfile.adminGroupObjectIDs", "Admin group object ID '%v' is not a valid GUID", g)
			}
		}
	} else if v, present := aad["adminGroupObjectIDs"]; present && v != nil {
		return invalidParameter("aadProfile.adminGroupObjectIDs", "adminGroupObjectIDs must be a list of group object IDs")
	}
	t, _ := aad["tenantID"].(string)
	if t == "" {
		t = tenantID
		aad["tenantID"] = tenantID
	} else if _, err := uuid.Parse(t); err != nil {
		return invalidParameter("aadProfile.tenantID", "Tenant ID '%s' is not a valid GUID", t)
	}
	if rbac, _ := aad["enableAzureRBAC"].(bool); rbac && !strings.EqualFold(t, tenantID) {
		return badRequest("BadRequest", "aadProfile.enableAzureRBAC",
			"Azure RBAC for Kubernetes authorization requires the Microsoft Entra tenant of the cluster (%s) to be the tenant of its subscription (%s).", t, tenantID)
	}
	c.Props.AADProfile = mustJSON(aad)
	return nil
}

// keepSystemPrincipal keeps a system-assigned identity's principal across
// an update that names the type again (clients send no principalId): on
// AKS the identity lives as long as the cluster keeps that type, and role
// assignments made to it stay valid.
func keepSystemPrincipal(prev, next json.RawMessage) json.RawMessage {
	var p, n map[string]any
	if json.Unmarshal(prev, &p) != nil || json.Unmarshal(next, &n) != nil {
		return next
	}
	if p["type"] != "SystemAssigned" || n["type"] != "SystemAssigned" || p["principalId"] == nil {
		return next
	}
	n["principalId"] = p["principalId"]
	return mustJSON(n)
}

// ValidateIdentity completes the cluster identity: SystemAssigned gets a
// principal; UserAssigned must name one existing identity.
func (v *Rules) ValidateIdentity(tx store.Tx, c *Cluster, tenantID string) error {
	var ident struct {
		Type                   string                     `json:"type"`
		PrincipalID            string                     `json:"principalId,omitempty"`
		TenantID               string                     `json:"tenantId,omitempty"`
		UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities,omitempty"`
	}
	if len(c.Record.Identity) > 0 {
		if err := json.Unmarshal(c.Record.Identity, &ident); err != nil {
			return arm.ErrInvalidRequestContent("identity: " + err.Error())
		}
	}
	sp := c.Props.ServicePrincipalProfile
	switch {
	case ident.Type == "" && sp != nil && sp.ClientID != "" && sp.ClientID != systemIdentityPrefix:
		if sp.Secret == "" {
			return invalidParameter("servicePrincipalProfile.secret", "The service principal secret is required")
		}
		if c.Props.AppRoutingEnabled() {
			return invalidParameter("ingressProfile.webAppRouting.enabled", "The application routing add-on requires a cluster with a managed identity")
		}
		c.Record.Identity = nil
		return nil
	case ident.Type == "" || strings.EqualFold(ident.Type, "SystemAssigned"):
		ident.Type = "SystemAssigned"
		if ident.PrincipalID == "" {
			ident.PrincipalID = newGUID()
		}
		ident.TenantID, ident.UserAssignedIdentities = tenantID, nil
	case strings.EqualFold(ident.Type, "UserAssigned"):
		ident.Type = "UserAssigned"
		if len(ident.UserAssignedIdentities) != 1 {
			return invalidParameter("identity.userAssignedIdentities", "Exactly one user assigned identity is required with identity type UserAssigned")
		}
		for id := range ident.UserAssignedIdentities {
			r, err := tx.Get(id)
			if errors.Is(err, store.ErrNotFound) {
				return badRequest("InvalidParameter", "identity.userAssignedIdentities",
					"The user assigned identity %s could not be found.", id)
			} else if err != nil {
				return err
			}
			var props struct {
				ClientID    string `json:"clientId"`
				PrincipalID string `json:"principalId"`
			}
			if err := json.Unmarshal(r.Properties, &props); err != nil {
				return fmt.Errorf("decode identity %s: %w", r.ID, err)
			}
			ident.UserAssignedIdentities = map[string]json.RawMessage{r.ID: mustJSON(map[string]string{"clientId": props.ClientID, "principalId": props.PrincipalID})}
		}
		ident.PrincipalID, ident.TenantID = "", ""
	case strings.EqualFold(ident.Type, "None"):
		return invalidParameter("identity.type", "Identity type None requires a service principal (servicePrincipalProfile)")
	default:
		return invalidParameter("identity.type", "Identity type '%s' is not supported; use SystemAssigned or UserAssigned", ident.Type)
	}
	c.Record.Identity = mustJSON(ident)
	c.Props.ServicePrincipalProfile = &ServicePrincipalProfile{ClientID: systemIdentityPrefix}
	return nil
}

// joinSubnet is the action using a subnet takes.
const joinSubnet = "Microsoft.Network/virtualNetworks/subnets/join/action"

// checkSubnetAccess refuses a cluster whose control-plane identity — a
// user-assigned identity or a service principal; a system-assigned one
// does not exist before the cluster does — may not join the subnets its
// pools bring (vnetSubnetID, podSubnetID), as provisioning their scale
// sets as that identity fails on AKS: 403 LinkedAuthorizationFailed naming
// the identity. AKS documents Network Contributor on the subnet (or its
// virtual network) as the role to give.
func (v *Rules) checkSubnetAccess(tx store.Tx, c *Cluster, pools []*Pool) error {
	if !v.IdentityAccess {
		return nil
	}
	var client, principal string
	var id struct {
		Type                   string `json:"type"`
		UserAssignedIdentities map[string]struct {
			ClientID    string `json:"clientId"`
			PrincipalID string `json:"principalId"`
		} `json:"userAssignedIdentities"`
	}
	switch {
	case len(c.Record.Identity) > 0 && json.Unmarshal(c.Record.Identity, &id) == nil && strings.EqualFold(id.Type, "UserAssigned"):
		for _, u := range id.UserAssignedIdentities {
			client, principal = u.ClientID, u.PrincipalID
		}
	case len(c.Record.Identity) == 0 && c.Props.ServicePrincipalProfile != nil && c.Props.ServicePrincipalProfile.ClientID != "" &&
		!strings.EqualFold(c.Props.ServicePrincipalProfile.ClientID, "msi"):
		client = c.Props.ServicePrincipalProfile.ClientID
		oid, ok, err := graph.ServicePrincipalByAppID(tx, v.TenantOf(resourceid.MustParse(c.Record.ID).SubscriptionID()), client)
		if err != nil || !ok {
			return err // not in the directory: its sign-in fails instead
		}
		principal = oid
	}
	if principal == "" {
		return nil
	}
	sub := resourceid.MustParse(c.Record.ID).SubscriptionID()
	nodeRG := resourceid.ResourceGroup(sub, c.Props.NodeResourceGroup).String()
	var denied []string
	seen := map[string]bool{}
	for _, p := range pools {
		for _, subnet := range []string{p.Props.VnetSubnetID, p.Props.PodSubnetID} {
			if subnet == "" || seen[strings.ToLower(subnet)] {
				continue
			}
			seen[strings.ToLower(subnet)] = true
			ok, err := authorization.Permits(tx, principal, subnet, joinSubnet)
			if err != nil {
				return err
			}
			if !ok {
				denied = append(denied, subnet)
			}
		}
	}
	if len(denied) == 0 {
		return nil
	}
	acts := make([]string, len(denied))
	for i := range denied {
		acts[i] = joinSubnet
	}
	return Error(http.StatusForbidden, "LinkedAuthorizationFailed", "",
		"The client '%s' with object id '%s' has permission to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		client, principal, nodeRG, strings.Join(acts, ","), strings.Join(denied, ","))
}

// validateAPIServerAccess applies AKS's rules to the API server's
// authorized IP ranges: IPv4 addresses or CIDRs, 0.0.0.0/32 (no public
// access) alone, and none on a private cluster.
func validateAPIServerAccess(ap *APIServerAccessProfile) error {
	if ap == nil || len(ap.AuthorizedIPRanges) == 0 {
		return nil
	}
	const target = "apiServerAccessProfile.authorizedIPRanges"
	if isTrue(ap.EnablePrivateCluster) {
		return invalidParameter(target, "Private cluster cannot be enabled with AuthorizedIPRanges.")
	}
	for _, r := range ap.AuthorizedIPRanges {
		if r == "0.0.0.0/32" && len(ap.AuthorizedIPRanges) > 1 {
			return invalidParameter(target, "Setting apiServerAuthorizedIPRange to 0.0.0.0/32 is not allowed with other IP ranges. Refer to https://aka.ms/aks/auth-ip-ranges for more details")
		}
		p, err := netip.ParsePrefix(r)
		if err != nil {
			a, aerr := netip.ParseAddr(r)
			if aerr != nil {
				return invalidParameter(target, "Authorized IP range '%s' is not an IPv4 address or CIDR.", r)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if !p.Addr().Is4() {
			return invalidParameter(target, "Authorized IP range '%s' is not an IPv4 address or CIDR.", r)
		}
	}
	return nil
}
