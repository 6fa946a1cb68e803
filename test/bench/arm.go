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

	"github.com/google/uuid"
)

// benchARM measures PUT and GET of resource groups through the whole
// stack (TLS, token validation, routing, SQLite with synchronous commits)
// with plain HTTPS requests: the HTTP path itself is what it measures.
func benchARM(ctx context.Context, out io.Writer, requests, concurrency int) error {
	var rows [][]string
	for _, mode := range []struct {
		name        string
		open        bool
		assignments int
	}{
		{"--open (no role checks)", true, 0},
		{"role checks (default)", false, 0},
		{"role checks, 10,000 assignments", false, 10000},
	} {
		r, err := benchARMMode(ctx, mode.name, mode.open, mode.assignments, requests, concurrency)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "authorization	operation	requests	concurrency	p50	p99	throughput")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// benchARMMode measures one authorization mode. With assignments, the
// subscription first gets that many role assignments to other principals:
// 1 % at the subscription, the rest spread over 99 resource groups —
// every request's check reads the subscription's and its group's.
func benchARMMode(ctx context.Context, mode string, open bool, assignments, requests, concurrency int) ([][]string, error) {
	in, err := start(ctx, instanceConfig{conns: concurrency, open: open})
	if err != nil {
		return nil, err
	}
	defer in.stop()
	token, err := in.token(ctx)
	if err != nil {
		return nil, err
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
			return nil, err
		}
	}
	if assignments > 0 {
		if err := seedAssignments(in, do, base, assignments); err != nil {
			return nil, err
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
			return nil, err
		}
		rows = append(rows, append([]string{mode}, row...))
	}
	return rows, nil
}

// seedAssignments creates n Reader assignments to random principals
// (typed, so no directory lookup): n/100 at the subscription, the rest
// over 99 resource groups.
func seedAssignments(in *instance, do func(method, u string, body []byte) error, base string, n int) error {
	sub := "/subscriptions/" + in.sub
	reader := sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
	for g := range 99 {
		if err := do(http.MethodPut, base+fmt.Sprintf("seed%d?api-version=2021-04-01", g), []byte(`{"location":"eastus"}`)); err != nil {
			return err
		}
	}
	for i := range n {
		scope := sub
		if i%100 != 0 {
			scope = sub + fmt.Sprintf("/resourceGroups/seed%d", i%99)
		}
		body := fmt.Sprintf(`{"properties":{"roleDefinitionId":%q,"principalId":%q,"principalType":"ServicePrincipal"}}`, reader, uuid.NewString())
		if err := do(http.MethodPut, in.srv.URL()+scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01", []byte(body)); err != nil {
			return err
		}
	}
	return nil
}
