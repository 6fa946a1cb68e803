package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/server"
)

func newBench(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure localaks and print a table",
	}
	var requests, concurrency int
	arm := &cobra.Command{
		Use:   "arm",
		Short: "ARM latency and throughput: resource group PUT and GET over HTTPS on loopback",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchARM(cmd.Context(), stdout, requests, concurrency)
		},
	}
	arm.Flags().IntVar(&requests, "requests", 2000, "requests per measurement")
	arm.Flags().IntVar(&concurrency, "concurrency", 8, "concurrent clients")
	cmd.AddCommand(arm)
	var sizes []int
	aksCmd := &cobra.Command{
		Use:   "aks",
		Short: "Managed cluster create to Succeeded (ARM level) for clusters of the given node counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchAKS(cmd.Context(), stdout, sizes)
		},
	}
	aksCmd.Flags().IntSliceVar(&sizes, "nodes", []int{3, 100, 1000}, "cluster sizes (nodes in one pool)")
	cmd.AddCommand(aksCmd)
	var co clusterBenchOptions
	clusters := &cobra.Command{
		Use:   "clusters",
		Short: "Clusters with real control planes: create → nodes Ready, pods Running, memory per cluster, restart; optionally beside kwokctl",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchClusters(cmd.Context(), stdout, stderr, co)
		},
	}
	clusters.Flags().IntSliceVar(&co.sizes, "nodes", []int{3, 100, 1000}, "cluster sizes (the first stays as the idle cluster)")
	clusters.Flags().IntVar(&co.pods, "pods", 1000, "replicas of a Deployment on the largest cluster")
	clusters.Flags().IntVar(&co.extra, "extra-clusters", 3, "more idle 3-node clusters for memory per cluster and the restart")
	clusters.Flags().DurationVar(&co.idle, "idle", 30*time.Second, "how long clusters idle before their memory is read")
	clusters.Flags().StringVar(&co.kwokConfig, "kwokctl-config", "", "KwokctlConfiguration file (binary runtime): run the same steps with kwokctl (on PATH) and print ratios")
	cmd.AddCommand(clusters)
	return cmd
}

// benchInstance is a throw-away instance in a temporary data dir with an
// HTTPS client and a token.
type benchInstance struct {
	srv    *server.Server
	client *http.Client
	token  string
	sub    string
	dir    string
	// keep leaves the data dir in place when stopping (for a restart).
	keep bool
	stop func()
}

// startBench starts serve in dir (a new temporary dir if empty), with or
// without control planes.
func startBench(ctx context.Context, concurrency int, controlPlanes bool, dir string) (*benchInstance, error) {
	tmp := dir
	if tmp == "" {
		var err error
		if tmp, err = os.MkdirTemp("", "localaks-bench-"); err != nil {
			return nil, err
		}
	}
	srv, err := server.New(ctx, server.Config{DataDir: datadir.Dir{Path: tmp}, Listen: []string{"127.0.0.1:0"}, ControlPlanes: controlPlanes})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	b := &benchInstance{srv: srv, sub: srv.Client().SubscriptionID, dir: tmp}
	b.stop = func() {
		cancel()
		<-done
		if !b.keep {
			os.RemoveAll(tmp)
		}
	}
	caPEM, err := os.ReadFile(datadir.Dir{Path: tmp}.CAFile())
	if err != nil {
		b.stop()
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	b.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: concurrency}}
	if b.token, err = fetchToken(b.client, srv.URL(), srv.Client()); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// do sends one request and returns the status, headers and body.
func (b *benchInstance) do(ctx context.Context, method, path string, body []byte) (int, http.Header, []byte, error) {
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = b.srv.URL() + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// benchAKS measures PUT managedCluster → operation Succeeded, and delete,
// for clusters of the given sizes (kubenet, one pool, a pod range big
// enough for 1000 nodes).
func benchAKS(ctx context.Context, out io.Writer, sizes []int) error {
	b, err := startBench(ctx, 2, false, "")
	if err != nil {
		return err
	}
	defer b.stop()
	rg := "/subscriptions/" + b.sub + "/resourcegroups/bench?api-version=2021-04-01"
	if status, _, body, err := b.do(ctx, http.MethodPut, rg, []byte(`{"location":"eastus"}`)); err != nil || status >= 300 {
		return fmt.Errorf("create group: %d %s %v", status, body, err)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "nodes\tPUT answered\tcreate → Succeeded\tscale ±10% → Succeeded\tdelete → Succeeded")
	for _, n := range sizes {
		name := fmt.Sprintf("c%d", n)
		path := "/subscriptions/" + b.sub + "/resourceGroups/bench/providers/Microsoft.ContainerService/managedClusters/" + name + "?api-version=2025-10-01"
		body := fmt.Sprintf(`{"location":"eastus","identity":{"type":"SystemAssigned"},"properties":{"dnsPrefix":"%s",
			"agentPoolProfiles":[{"name":"nodepool1","count":%d,"vmSize":"Standard_D2s_v5","mode":"System","maxCount":null}],
			"networkProfile":{"networkPlugin":"kubenet","podCidr":"10.128.0.0/13"}}}`, name, n)
		start := time.Now()
		status, hdr, resp, err := b.do(ctx, http.MethodPut, path, []byte(body))
		if err != nil || status != http.StatusCreated {
			return fmt.Errorf("create %d-node cluster: %d %s %v", n, status, resp, err)
		}
		answered := time.Since(start)
		if err := b.waitOp(ctx, hdr.Get("Azure-AsyncOperation")); err != nil {
			return err
		}
		created := time.Since(start)
		poolPath := strings.Replace(path, "?", "/agentPools/nodepool1?", 1)
		start = time.Now()
		target := n + max(1, n/10)
		if target > 1000 {
			target = n - n/10 // pools hold at most 1000 nodes: scale in instead
		}
		status, hdr, resp, err = b.do(ctx, http.MethodPut, poolPath, []byte(fmt.Sprintf(`{"properties":{"count":%d}}`, target)))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("scale %d-node cluster: %d %s %v", n, status, resp, err)
		}
		if err := b.waitOp(ctx, hdr.Get("Azure-AsyncOperation")); err != nil {
			return err
		}
		scaled := time.Since(start)
		start = time.Now()
		status, hdr, resp, err = b.do(ctx, http.MethodDelete, path, nil)
		if err != nil || status != http.StatusAccepted {
			return fmt.Errorf("delete %d-node cluster: %d %s %v", n, status, resp, err)
		}
		if err := b.waitOp(ctx, hdr.Get("Azure-AsyncOperation")); err != nil {
			return err
		}
		deleted := time.Since(start)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n, fmtDur(answered), fmtDur(created), fmtDur(scaled), fmtDur(deleted))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	d, err := b.deployTemplate(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "\ntemplate deployment (VNet + subnet + public IP + 3-node Azure CNI cluster in the subnet) → Succeeded: %s\n", fmtDur(d))
	return err
}

// benchTemplate is the template deployTemplate deploys.
const benchTemplate = `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "tvnet", "location": "[resourceGroup().location]",
     "properties": {"addressSpace": {"addressPrefixes": ["10.30.0.0/16"]}, "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.30.0.0/20"}}]}},
    {"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01", "name": "tip", "location": "[resourceGroup().location]",
     "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
    {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2025-10-01", "name": "tcluster", "location": "[resourceGroup().location]",
     "dependsOn": ["tvnet"], "identity": {"type": "SystemAssigned"},
     "properties": {"dnsPrefix": "tcluster", "networkProfile": {"networkPlugin": "azure", "serviceCidr": "10.31.0.0/16", "dnsServiceIP": "10.31.0.10"},
       "agentPoolProfiles": [{"name": "system", "count": 3, "vmSize": "Standard_D2s_v5", "mode": "System",
         "vnetSubnetID": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'tvnet', 'nodes')]"}]}}
  ],
  "outputs": {"fqdn": {"type": "string", "value": "[reference('tcluster').fqdn]"}}}`

// deployTemplate times a template deployment from PUT to Succeeded.
func (b *benchInstance) deployTemplate(ctx context.Context) (time.Duration, error) {
	path := "/subscriptions/" + b.sub + "/resourceGroups/bench/providers/Microsoft.Resources/deployments/bench?api-version=2022-09-01"
	start := time.Now()
	status, hdr, resp, err := b.do(ctx, http.MethodPut, path, []byte(`{"properties":{"mode":"Incremental","template":`+benchTemplate+`}}`))
	if err != nil || status != http.StatusCreated {
		return 0, fmt.Errorf("deploy template: %d %s %v", status, resp, err)
	}
	for poll := hdr.Get("Location"); ; {
		status, _, resp, err := b.do(ctx, http.MethodGet, poll, nil)
		if err != nil {
			return 0, err
		}
		switch status {
		case http.StatusAccepted:
			sleepCtx(ctx, 5*time.Millisecond)
			continue
		case http.StatusOK:
			return time.Since(start), nil
		}
		return 0, fmt.Errorf("deployment: %d %s", status, resp)
	}
}

// benchARM starts a throw-away instance in a temporary data dir and
// measures PUT and GET of resource groups through the whole stack (TLS,
// token validation, routing, SQLite with synchronous commits).
func benchARM(ctx context.Context, out io.Writer, requests, concurrency int) error {
	tmp, err := os.MkdirTemp("", "localaks-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	srv, err := server.New(ctx, server.Config{DataDir: datadir.Dir{Path: tmp}, Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { stop(); <-done }()

	caPEM, err := os.ReadFile(datadir.Dir{Path: tmp}.CAFile())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: concurrency,
	}}
	c := srv.Client()
	token, err := fetchToken(client, srv.URL(), c)
	if err != nil {
		return err
	}
	base := srv.URL() + "/subscriptions/" + c.SubscriptionID + "/resourcegroups/"
	do := func(method, u string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining for reuse
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %s", method, u, resp.Status)
		}
		return nil
	}
	body := []byte(`{"location":"eastus","tags":{"bench":"true"}}`)
	measure := func(name string, fn func(i int) error) (row []string, err error) {
		lat := make([]time.Duration, requests)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		next := 0
		start := time.Now()
		for w := 0; w < concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= requests {
						return
					}
					t := time.Now()
					if err := fn(i); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					lat[i] = time.Since(t)
				}
			}()
		}
		wg.Wait()
		total := time.Since(start)
		if firstErr != nil {
			return nil, firstErr
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) string { return fmtDur(lat[int(float64(len(lat)-1)*p)]) }
		return []string{name, fmt.Sprint(requests), fmt.Sprint(concurrency), pct(0.5), pct(0.99),
			fmt.Sprintf("%.0f/s", float64(requests)/total.Seconds())}, nil
	}
	// Warm up connections and caches.
	for i := 0; i < concurrency; i++ {
		if err := do(http.MethodPut, base+fmt.Sprintf("warm%d?api-version=2021-04-01", i), body); err != nil {
			return err
		}
	}
	var rows [][]string
	row, err := measure("PUT resource group (create)", func(i int) error {
		return do(http.MethodPut, base+fmt.Sprintf("rg%d?api-version=2021-04-01", i), body)
	})
	if err != nil {
		return err
	}
	rows = append(rows, row)
	row, err = measure("GET resource group", func(i int) error {
		return do(http.MethodGet, base+fmt.Sprintf("rg%d?api-version=2021-04-01", i), nil)
	})
	if err != nil {
		return err
	}
	rows = append(rows, row)
	row, err = measure("GET resource group list (page of 100)", func(i int) error {
		return do(http.MethodGet, strings.TrimSuffix(base, "/")+"?api-version=2021-04-01&%24top=100", nil)
	})
	if err != nil {
		return err
	}
	rows = append(rows, row)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "operation\trequests\tconcurrency\tp50\tp99\tthroughput")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func fetchToken(client *http.Client, base string, c datadir.Client) (string, error) {
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://management.core.windows.net//.default"},
	}
	resp, err := client.PostForm(base+"/"+c.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("get token: %s %v", resp.Status, err)
	}
	return tok.AccessToken, nil
}
