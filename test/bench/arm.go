package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// benchARM measures PUT and GET of resource groups through the whole
// stack (TLS, token validation, routing, SQLite with synchronous commits)
// with plain HTTPS requests: the HTTP path itself is what it measures.
func benchARM(ctx context.Context, out io.Writer, requests, concurrency int) error {
	in, err := start(ctx, instanceConfig{conns: concurrency})
	if err != nil {
		return err
	}
	defer in.stop()
	token, err := in.token(ctx)
	if err != nil {
		return err
	}
	base := in.srv.URL() + "/subscriptions/" + in.sub + "/resourcegroups/"
	do := func(method, u string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := in.http.Do(req)
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
		for range concurrency {
			wg.Go(func() {
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
			})
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
	for i := range concurrency {
		if err := do(http.MethodPut, base+fmt.Sprintf("warm%d?api-version=2021-04-01", i), body); err != nil {
			return err
		}
	}
	var rows [][]string
	for _, m := range []struct {
		name string
		fn   func(i int) error
	}{
		{"PUT resource group (create)", func(i int) error {
			return do(http.MethodPut, base+fmt.Sprintf("rg%d?api-version=2021-04-01", i), body)
		}},
		{"GET resource group", func(i int) error {
			return do(http.MethodGet, base+fmt.Sprintf("rg%d?api-version=2021-04-01", i), nil)
		}},
		{"GET resource group list (page of 100)", func(int) error {
			return do(http.MethodGet, strings.TrimSuffix(base, "/")+"?api-version=2021-04-01&%24top=100", nil)
		}},
	} {
		row, err := measure(m.name, m.fn)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "operation\trequests\tconcurrency\tp50\tp99\tthroughput")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
