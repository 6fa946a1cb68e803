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
	return cmd
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
