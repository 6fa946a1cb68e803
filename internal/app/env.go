package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

func newEnv(g *globals, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print shell exports that point the Go SDK, Terraform and az at the running localaks",
		Long: `Prints export lines for the running serve of the data directory:
eval "$(localaks env)" sets the identity variables the Azure SDKs and
Terraform's azurerm read, ARM_METADATA_HOSTNAME, and a CA bundle (system CAs
plus the local CA) for REQUESTS_CA_BUNDLE and SSL_CERT_FILE, and
LOCALAKS_REGISTRY_PROXY: with HTTPS_PROXY=$LOCALAKS_REGISTRY_PROXY a client
reaches a container registry by its login server ({name}.azurecr.io).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			d, err := g.dir()
			if err != nil {
				return err
			}
			serve, err := d.ReadServe()
			if err != nil {
				return err
			}
			c, err := d.ReadClient()
			if err != nil {
				return err
			}
			host := strings.TrimPrefix(serve.URL, "https://")
			vars := [][2]string{
				{"LOCALAKS_URL", serve.URL},
				{"LOCALAKS_DATA_DIR", d.Path},
				{"AZURE_TENANT_ID", c.TenantID},
				{"AZURE_SUBSCRIPTION_ID", c.SubscriptionID},
				{"AZURE_CLIENT_ID", c.ClientID},
				{"AZURE_CLIENT_SECRET", c.ClientSecret},
				{"AZURE_AUTHORITY_HOST", serve.URL + "/"},
				{"ARM_METADATA_HOSTNAME", host},
				{"ARM_TENANT_ID", c.TenantID},
				{"ARM_SUBSCRIPTION_ID", c.SubscriptionID},
				{"ARM_CLIENT_ID", c.ClientID},
				{"ARM_CLIENT_SECRET", c.ClientSecret},
				{"ARM_SKIP_PROVIDER_REGISTRATION", "true"},
				{"ARM_RESOURCE_PROVIDER_REGISTRATIONS", "none"},
				{"REQUESTS_CA_BUNDLE", d.CABundle()},
				{"SSL_CERT_FILE", d.CABundle()},
				{"AZURE_CORE_COLLECT_TELEMETRY", "false"},
				// HTTPS_PROXY=$LOCALAKS_REGISTRY_PROXY reaches the
				// container registries by their login servers' names.
				{"LOCALAKS_REGISTRY_PROXY", registryProxy(serve.URL)},
			}
			fmt.Fprintf(stdout, "# localaks at %s (data dir %s)\n", serve.URL, d.Path)
			for _, v := range vars {
				fmt.Fprintf(stdout, "export %s=%s\n", v[0], shellQuote(v[1]))
			}
			return nil
		},
	}
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
