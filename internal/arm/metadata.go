package arm

import "net/http"

// ARMAudiences are the token audiences ARM accepts, besides the URL of this
// endpoint itself.
var ARMAudiences = []string{
	"https://management.core.windows.net/",
	"https://management.core.windows.net",
	"https://management.azure.com/",
	"https://management.azure.com",
}

// cloudName is the name localaks's cloud has in metadata documents.
const cloudName = "localaks"

// serveMetadata answers GET /metadata/endpoints in the shape each client
// asks for by api-version:
//
//   - 2015-01-01 (az CLI 2.45 `cloud register`) and no version: the old
//     object with loginEndpoint and graphEndpoint;
//   - 2019-05-01 / 2020-06-01 (newer az, go-azure-sdk's list form): an array;
//   - 2022-09-01 (Terraform's go-azure-sdk): one object whose
//     authentication has tenant "common" and identityProvider "AAD" —
//     anything else is treated as Azure Stack, which azurerm refuses.
//
// The az forms advertise the ADFS-style authority {base}/adfs/, because
// MSAL then skips instance discovery (which would call the public cloud);
// the Terraform form advertises {base}/ and go-azure-sdk appends
// {tenant}/oauth2/v2.0/token itself.
func serveMetadata(w http.ResponseWriter, r *http.Request, base string) {
	v := r.URL.Query().Get("api-version")
	switch {
	case v == "" || v < "2019-05-01":
		writeJSON(w, http.StatusOK, map[string]any{
			"galleryEndpoint": base + "/gallery/",
			"graphEndpoint":   base + "/graph/",
			"portalEndpoint":  base + "/portal/",
			"authentication": map[string]any{
				"loginEndpoint": base + "/adfs/",
				"audiences":     []string{ARMAudiences[0], base + "/"},
			},
		})
	case v < "2022-09-01":
		writeJSON(w, http.StatusOK, []any{cloudDocument(base, base+"/adfs/", "adfs", "ADFS")})
	default:
		writeJSON(w, http.StatusOK, cloudDocument(base, base+"/", "common", "AAD"))
	}
}

func cloudDocument(base, login, tenant, idp string) map[string]any {
	return map[string]any{
		"name":            cloudName,
		"portal":          base + "/portal/",
		"resourceManager": base + "/",
		"gallery":         base + "/gallery/",
		"authentication": map[string]any{
			"loginEndpoint":    login,
			"audiences":        []string{ARMAudiences[0], base + "/"},
			"tenant":           tenant,
			"identityProvider": idp,
		},
		"media":                                 base + "/media/",
		"graphAudience":                         "https://graph.windows.net/",
		"graph":                                 base + "/graph/",
		"microsoftGraphResourceId":              base + "/graph/",
		"batch":                                 "https://batch.core.windows.net/",
		"sqlManagement":                         "https://management.core.windows.net:8443/",
		"vmImageAliasDoc":                       base + "/vmImageAliasDoc",
		"activeDirectoryDataLake":               "https://datalake.azure.net/",
		"appInsightsResourceId":                 "https://api.applicationinsights.io",
		"appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
		"attestationResourceId":                 "https://attest.azure.net",
		"synapseAnalyticsResourceId":            "https://dev.azuresynapse.net",
		"logAnalyticsResourceId":                "https://api.loganalytics.io",
		"ossrDbmsResourceId":                    "https://ossrdbms-aad.database.windows.net",
		"suffixes": map[string]any{
			"azureDataLakeStoreFileSystem":        "azuredatalakestore.net",
			"acrLoginServer":                      "azurecr.io",
			"sqlServerHostname":                   "database.windows.net",
			"azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
			"keyVaultDns":                         "vault.azure.net",
			"storage":                             "core.windows.net",
			"azureFrontDoorEndpointSuffix":        "azurefd.net",
			"storageSyncEndpointSuffix":           "afs.azure.net",
			"mhsmDns":                             "managedhsm.azure.net",
			"mysqlServerEndpoint":                 "mysql.database.azure.com",
			"postgresqlServerEndpoint":            "postgres.database.azure.com",
			"mariadbServerEndpoint":               "mariadb.database.azure.com",
			"synapseAnalytics":                    "dev.azuresynapse.net",
			"attestationEndpoint":                 "attest.azure.net",
		},
	}
}
