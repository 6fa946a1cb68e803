//go:build tools

// Package tools pins the registry clients and peers the test suite and the
// benchmarks build from the Go module proxy, kept out of localaks's go.mod:
// the OCI distribution-spec conformance suite, crane, oras, and the
// distribution registry run standalone (the benchmark peer).
package tools

import (
	_ "github.com/distribution/distribution/v3/cmd/registry"
	_ "github.com/google/go-containerregistry/cmd/crane"
	_ "github.com/opencontainers/distribution-spec/conformance"
	_ "oras.land/oras/cmd/oras"
)
