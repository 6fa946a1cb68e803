package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/localaks/localaks/internal/datadir"
)

func newAz(g *globals, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "az [az arguments]",
		Short: "Run the installed az CLI against this localaks, already signed in",
		Long: `Runs the installed az CLI with its own AZURE_CONFIG_DIR (<data-dir>/az): the
localaks cloud registered and selected, signed in as the built-in service
principal, the default subscription selected, and the local CA trusted.
Your own ~/.azure is not touched.

The network, vmss, vm and disk command groups run with the
2020-09-01-hybrid API profile (<data-dir>/az-hybrid): the az CLI Debian
ships (2.45) lacks the SDK versions its default profile needs for them and
crashes before sending a request. LOCALAKS_AZ_PROFILE=latest turns this off
(for an az whose own packages are complete).`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && (args[0] == "--data-dir" || len(args[0]) > 11 && args[0][:11] == "--data-dir=") {
				// Flag parsing is off so az's own flags pass through;
				// pick up a leading --data-dir by hand.
				if args[0] == "--data-dir" && len(args) > 1 {
					g.dataDir, args = args[1], args[2:]
				} else if args[0] != "--data-dir" {
					g.dataDir, args = args[0][11:], args[1:]
				}
			}
			d, err := g.dir()
			if err != nil {
				return err
			}
			env, err := prepareAz(cmd.Context(), d, azProfile(args), stderr)
			if err != nil {
				return err
			}
			az := exec.CommandContext(cmd.Context(), "az", args...)
			az.Env, az.Stdin, az.Stdout, az.Stderr = env, os.Stdin, stdout, stderr
			if err := az.Run(); err != nil {
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					return &ExitError{Code: exit.ExitCode()}
				}
				return fmt.Errorf("run az: %w", err)
			}
			return nil
		},
	}
}

// azSetup records what the az config dir was set up for.
type azSetup struct {
	URL      string `json:"url"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	Profile  string `json:"profile"`
	// ACRSuffix is the login-server suffix the cloud is registered with.
	ACRSuffix string `json:"acrSuffix"`
}

// hybridGroups are the az command groups whose default-profile SDKs are
// missing from Debian's az 2.45 (network 2022-01-01, compute 2022-11-01).
var hybridGroups = map[string]bool{"network": true, "vmss": true, "vm": true, "disk": true, "snapshot": true, "image": true}

// azProfile picks the API profile for an az command line.
func azProfile(args []string) string {
	if p := os.Getenv("LOCALAKS_AZ_PROFILE"); p != "" {
		return p
	}
	if len(args) > 0 && hybridGroups[args[0]] {
		return "2020-09-01-hybrid"
	}
	return "latest"
}

// prepareAz makes sure <data-dir>/az is registered with and signed in to
// the running serve, and returns the environment az runs with. Setting up
// takes a few seconds, once per serve address.
// registryProxy is the proxy URL that reaches the container registries:
// serve's own port, spoken to in plain HTTP (CONNECT only).
func registryProxy(serveURL string) string {
	return "http://" + strings.TrimPrefix(serveURL, "https://")
}

// noProxy keeps the caller's NO_PROXY and adds the loopback names.
func noProxy() string {
	v := "localhost,127.0.0.1,::1"
	if old := os.Getenv("NO_PROXY"); old != "" {
		v = old + "," + v
	}
	return v
}

// acrSuffix is the cloud's login-server suffix (az acr reads it).
const acrSuffix = ".azurecr.io"

func prepareAz(ctx context.Context, d datadir.Dir, profile string, stderr io.Writer) ([]string, error) {
	if _, err := exec.LookPath("az"); err != nil {
		return nil, errors.New("the az CLI is not installed (on Debian or Ubuntu: apt-get install azure-cli)")
	}
	serve, err := d.ReadServe()
	if err != nil {
		return nil, err
	}
	client, err := d.ReadClient()
	if err != nil {
		return nil, fmt.Errorf("read client identity: %w", err)
	}
	azDir := d.AzureConfigDir()
	if profile != "latest" {
		azDir += "-" + strings.TrimPrefix(profile, "2020-09-01-")
	}
	env := append(os.Environ(),
		"AZURE_CONFIG_DIR="+azDir,
		"REQUESTS_CA_BUNDLE="+d.CABundle(),
		"AZURE_CORE_COLLECT_TELEMETRY=false",
		// Container registries' login servers are reached through
		// serve's CONNECT tunnel (az acr login, az acr repository);
		// serve itself directly.
		"HTTPS_PROXY="+registryProxy(serve.URL),
		"NO_PROXY="+noProxy(),
	)
	lock, err := d.LockFile("az.lock", true)
	if err != nil {
		return nil, fmt.Errorf("lock az config: %w", err)
	}
	defer lock.Release() //nolint:errcheck // closing drops the lock

	want := azSetup{URL: serve.URL, TenantID: client.TenantID, ClientID: client.ClientID, Profile: profile, ACRSuffix: acrSuffix}
	marker := filepath.Join(azDir, "localaks.json")
	if data, err := os.ReadFile(marker); err == nil {
		var have azSetup
		if json.Unmarshal(data, &have) == nil && have == want {
			return env, nil
		}
	}
	// A fresh config dir is simpler than reconciling an old one.
	if err := os.RemoveAll(azDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(azDir, 0o700); err != nil {
		return nil, err
	}
	steps := [][]string{
		// The cloud config carries what az cannot read from the metadata
		// it asks for: Microsoft Graph (az ad) is served at {url}/graph/.
		{"cloud", "register", "--name", "localaks", "--cloud-config", cloudConfig(serve.URL, profile, acrSuffix)},
		{"cloud", "set", "--name", "localaks"},
		{"login", "--service-principal", "--username", client.ClientID, "--password", client.ClientSecret, "--tenant", client.TenantID, "--output", "none"},
		{"account", "set", "--subscription", client.SubscriptionID},
	}
	for _, step := range steps {
		var out bytes.Buffer
		c := exec.CommandContext(ctx, "az", step...)
		c.Env, c.Stdout, c.Stderr = env, &out, &out
		if err := c.Run(); err != nil {
			stderr.Write(out.Bytes()) //nolint:errcheck // diagnostics only
			return nil, fmt.Errorf("set up az (az %s): %w", step[0]+" "+step[1], err)
		}
	}
	data, _ := json.Marshal(want)
	if err := os.WriteFile(marker, data, 0o600); err != nil {
		return nil, err
	}
	return env, nil
}

// cloudConfig is az's cloud registration for localaks at url.
func cloudConfig(url, profile, acrSuffix string) string {
	data, _ := json.Marshal(map[string]any{
		"profile":   profile,
		"endpoints": map[string]string{"resourceManager": url + "/", "microsoftGraphResourceId": url + "/graph/"},
		"suffixes":  map[string]string{"acrLoginServerEndpoint": acrSuffix},
	})
	return string(data)
}
