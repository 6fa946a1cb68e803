// Command hello is the test image's program: an HTTP server that answers
// with its pod's name (the path it got in X-Path; it logs each request), a client for tests that
// exec into pods ("hello get URL" prints what URL answers), a load
// generator ("hello load URL DURATION": eight keep-alive clients, then the
// requests per second), a memory eater ("hello eat MiB": allocates and
// touches that much, then waits), and, called as tar, the tar `kubectl cp`
// runs.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "tar" {
		if err := runTar(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "get" {
		c := http.Client{Timeout: 5 * time.Second}
		res, err := c.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer res.Body.Close()
		io.Copy(os.Stdout, res.Body) //nolint:errcheck // a test client
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "load" {
		d, err := time.ParseDuration(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		n, err := load(os.Args[2], d)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%d requests in %s: %.0f/s\n", n, d, float64(n)/d.Seconds())
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "eat" {
		var mib int
		if _, err := fmt.Sscan(os.Args[2], &mib); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("eating %d MiB\n", mib)
		var heap [][]byte
		for range mib {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			heap = append(heap, b)
		}
		fmt.Printf("ate %d MiB\n", len(heap))
		select {}
	}
	name, _ := os.Hostname()
	addr := ":8080"
	if a := os.Getenv("LISTEN"); a != "" {
		addr = a
	}
	log.Printf("hello %s listening on %s", name, addr)
	quiet := os.Getenv("QUIET") != ""
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !quiet {
			log.Printf("%s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		}
		w.Header().Set("X-Path", r.URL.Path)
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

// load has eight keep-alive clients GET url until d has passed and counts
// the answers; any failure ends it.
func load(url string, d time.Duration) (int64, error) {
	const clients = 8
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	end := time.Now().Add(d)
	var total atomic.Int64
	errs := make(chan error, clients)
	for range clients {
		go func() {
			for time.Now().Before(end) {
				res, err := c.Get(url)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body) //nolint:errcheck // drained for reuse
				res.Body.Close()
				total.Add(1)
			}
			errs <- nil
		}()
	}
	var first error
	for range clients {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return total.Load(), first
}
