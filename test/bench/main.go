// Command bench measures localaks and prints tables: ARM latency and
// throughput, managed cluster operations at the ARM level, and clusters
// with real control planes beside kwokctl. It is a test tool, not part of
// the product (as KWOK keeps its benchmarks outside kwok):
//
//	go run ./test/bench arm [--requests 2000] [--concurrency 8]
//	go run ./test/bench aks [--nodes 3,100,1000]
//	go run ./test/bench clusters [--localaks bin/localaks] [--kwokctl-config FILE] [--nodes …] [--pods …]
//	go run ./test/bench registry [--size 100] [--rounds 5]
//	go run ./test/bench autoscaler [--localaks bin/localaks] [--nodes 100] [--scan-interval 10s]
//
// Every run starts a throw-away localaks server in-process, in a temporary
// data directory, on loopback, and drives it as clients do: raw HTTPS for
// the ARM microbenchmark, the Azure SDK for Go for long-running
// operations, client-go for the clusters' Kubernetes state.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "bench",
		Short:         "Measure localaks and print a table",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
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
	root.AddCommand(arm)

	var sizes []int
	aks := &cobra.Command{
		Use:   "aks",
		Short: "Managed cluster create to Succeeded (ARM level) for clusters of the given node counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchAKS(cmd.Context(), stdout, sizes)
		},
	}
	aks.Flags().IntSliceVar(&sizes, "nodes", []int{3, 100, 1000}, "cluster sizes (nodes in one pool)")
	root.AddCommand(aks)

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
	clusters.Flags().StringVar(&co.localaks, "localaks", "", "localaks binary whose controlplane command runs the clusters (default: build ./cmd/localaks into a temporary directory)")
	root.AddCommand(clusters)

	var realBin string
	real := &cobra.Command{
		Use:   "realnodes",
		Short: "Real nodes (kubelet + containerd; needs root): create → node Ready, loaded image → first HTTP 200, scale-out, memory per node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchRealNodes(cmd.Context(), stdout, stderr, realBin)
		},
	}
	real.Flags().StringVar(&realBin, "localaks", "", "localaks binary (default: build ./cmd/localaks into a temporary directory)")
	root.AddCommand(real)

	var sizeMB, rounds int
	reg := &cobra.Command{
		Use:   "registry",
		Short: "Container registry: push and pull throughput of an image, localaks's registry beside the distribution registry run standalone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchRegistry(cmd.Context(), stdout, sizeMB, rounds)
		},
	}
	reg.Flags().IntVar(&sizeMB, "size", 100, "image size in MB")
	reg.Flags().IntVar(&rounds, "rounds", 5, "rounds (a fresh image each)")
	root.AddCommand(reg)

	var casBin string
	var casNodes int
	var scan time.Duration
	cas := &cobra.Command{
		Use:   "autoscaler",
		Short: "Cluster autoscaler on simulated nodes: a pending pod → its new node Ready; a burst of pending pods → the pool at its maximum",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchAutoscaler(cmd.Context(), stdout, stderr, casBin, casNodes, scan)
		},
	}
	cas.Flags().StringVar(&casBin, "localaks", "", "localaks binary (default: build ./cmd/localaks into a temporary directory)")
	cas.Flags().IntVar(&casNodes, "nodes", 100, "the pool's maximum, reached by the burst")
	cas.Flags().DurationVar(&scan, "scan-interval", 10*time.Second, "the profile's scan interval")
	root.AddCommand(cas)
	return root
}
