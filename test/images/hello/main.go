// Command hello is the test image's program: an HTTP server that answers
// with its pod's name (and logs each request), a client for tests that
// exec into pods ("hello get URL" prints what URL answers), and, called as
// tar, the tar `kubectl cp` runs.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
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
	name, _ := os.Hostname()
	addr := ":8080"
	if a := os.Getenv("LISTEN"); a != "" {
		addr = a
	}
	log.Printf("hello %s listening on %s", name, addr)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
