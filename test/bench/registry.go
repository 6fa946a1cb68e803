package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/localaks/localaks/internal/pki"
	"github.com/localaks/localaks/test/registrytools"
)

// registryTarget is one registry the benchmark pushes to and pulls from.
type registryTarget struct {
	host string
	opts []remote.Option
}

// benchRegistry pushes and pulls an image of sizeMB (in four layers of
// random bytes, so nothing compresses or deduplicates) through localaks's
// registry — the client reaching the login server through serve's CONNECT
// tunnel, signed in as the admin user through ACR's token flow — and
// through the distribution registry run standalone on loopback with TLS,
// and prints the median throughput of rounds.
func benchRegistry(ctx context.Context, out io.Writer, sizeMB, rounds int) error {
	in, err := start(ctx, instanceConfig{conns: 4})
	if err != nil {
		return err
	}
	defer in.stop()
	ours, err := localaksRegistry(ctx, in)
	if err != nil {
		return err
	}
	peer, stopPeer, err := standaloneRegistry(ctx)
	if err != nil {
		return err
	}
	defer stopPeer()

	type result struct{ push, pull []float64 }
	res := map[string]*result{"localaks": {}, "peer": {}}
	for round := range rounds {
		img, err := randomImage(sizeMB)
		if err != nil {
			return err
		}
		for _, who := range []string{"peer", "localaks"} {
			t := peer
			if who == "localaks" {
				t = ours
			}
			ref, err := name.ParseReference(fmt.Sprintf("%s/bench/round%d:v1", t.host, round))
			if err != nil {
				return err
			}
			t0 := time.Now()
			if err := remote.Write(ref, img, t.opts...); err != nil {
				return fmt.Errorf("%s: push: %w", who, err)
			}
			res[who].push = append(res[who].push, float64(sizeMB)/time.Since(t0).Seconds())
			t0 = time.Now()
			if err := pullAll(ref, t.opts); err != nil {
				return fmt.Errorf("%s: pull: %w", who, err)
			}
			res[who].pull = append(res[who].pull, float64(sizeMB)/time.Since(t0).Seconds())
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "registry, %d MB image in 4 layers, median of %d (%s)\tlocalaks\tdistribution registry standalone\tratio\n", sizeMB, rounds, machine())
	for _, row := range []struct {
		name string
		a, b []float64
	}{{"push (MB/s)", res["localaks"].push, res["peer"].push}, {"pull (MB/s)", res["localaks"].pull, res["peer"].pull}} {
		a, b := median(row.a), median(row.b)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\n", row.name, a, b, a/b)
	}
	return tw.Flush()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// randomImage is an image of sizeMB in four layers of random bytes.
func randomImage(sizeMB int) (v1.Image, error) {
	var layers []v1.Layer
	for range 4 {
		b := make([]byte, sizeMB<<20/4)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		layers = append(layers, static.NewLayer(b, types.OCIUncompressedLayer))
	}
	return mutate.AppendLayers(empty.Image, layers...)
}

// pullAll reads the manifest, config and every layer of ref.
func pullAll(ref name.Reference, opts []remote.Option) error {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// localaksRegistry creates a registry with the admin user in in and
// returns how a client reaches it.
func localaksRegistry(ctx context.Context, in *instance) (registryTarget, error) {
	tok, err := in.token(ctx)
	if err != nil {
		return registryTarget{}, err
	}
	call := func(method, path, body string) (map[string]any, error) {
		req, err := http.NewRequestWithContext(ctx, method, in.srv.URL()+path, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := in.http.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck // checked by status
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out, nil
	}
	rg := "/subscriptions/" + in.sub + "/resourceGroups/bench"
	if _, err := call("PUT", rg+"?api-version=2021-04-01", `{"location":"eastus"}`); err != nil {
		return registryTarget{}, err
	}
	reg := rg + "/providers/Microsoft.ContainerRegistry/registries/benchacr1"
	if _, err := call("PUT", reg+"?api-version=2025-11-01", `{"location":"eastus","sku":{"name":"Premium"},"properties":{"adminUserEnabled":true}}`); err != nil {
		return registryTarget{}, err
	}
	creds, err := call("POST", reg+"/listCredentials?api-version=2025-11-01", "")
	if err != nil {
		return registryTarget{}, err
	}
	pass := creds["passwords"].([]any)[0].(map[string]any)["value"].(string)
	proxy, _ := url.Parse("http://" + strings.TrimPrefix(in.srv.URL(), "https://"))
	tr := in.http.Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(proxy)
	return registryTarget{host: "benchacr1.azurecr.io", opts: []remote.Option{
		remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "benchacr1", Password: pass}), remote.WithContext(ctx)}}, nil
}

// standaloneRegistry runs the distribution registry (built from
// tools/registry) with TLS on a loopback port, storing on disk.
func standaloneRegistry(ctx context.Context) (registryTarget, func(), error) {
	bin, err := registrytools.Ensure(ctx, registrytools.Registry)
	if err != nil {
		return registryTarget{}, nil, err
	}
	dir, err := os.MkdirTemp("", "localaks-bench-registry-")
	if err != nil {
		return registryTarget{}, nil, err
	}
	ca, err := pki.LoadOrCreateCA(dir, "ca", "bench CA")
	if err != nil {
		return registryTarget{}, nil, err
	}
	if _, err := ca.ServingCert(dir, "serving", []string{"127.0.0.1"}); err != nil {
		return registryTarget{}, nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return registryTarget{}, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
`, filepath.Join(dir, "data"), addr, filepath.Join(dir, "serving.pem"), filepath.Join(dir, "serving-key.pem"))
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		return registryTarget{}, nil, err
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return registryTarget{}, nil, err
	}
	stop := func() {
		cmd.Process.Kill() //nolint:errcheck // stopping it
		cmd.Wait()         //nolint:errcheck // killed
		os.RemoveAll(dir)
	}
	caPEM, _ := os.ReadFile(ca.CertFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return registryTarget{}, nil, fmt.Errorf("the standalone registry did not answer: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return registryTarget{host: addr, opts: []remote.Option{remote.WithTransport(tr), remote.WithContext(ctx)}}, stop, nil
}
