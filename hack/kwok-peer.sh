#!/usr/bin/env bash
# Builds the benchmark peer outside the repository: kube-apiserver,
# kube-controller-manager, kube-scheduler and etcd as one multi-call binary
# from the same module versions localaks uses, plus kwokctl and kwok, and
# writes a KwokctlConfiguration (binary runtime, loopback only) for
# `go run ./test/bench clusters --kwokctl-config`. Prints the directory.
#
#   hack/kwok-peer.sh [DIR]     (default: $TMPDIR/localaks-kwok-peer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${TMPDIR:-/tmp}/localaks-kwok-peer}
mkdir -p "$dir/src" "$dir/bin"
cd "$root"
k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
kwok=$(go list -m -f '{{.Version}}' sigs.k8s.io/kwok)
minor=$(echo "$k8s" | cut -d. -f2)

cd "$dir/src"
# The same requirements as localaks (so the build cache is shared and the
# components are byte-for-byte the same code), under another module path.
sed 's|^module .*|module peer|' "$root/go.mod" > go.mod
cp "$root/go.sum" go.sum
cat > main.go <<'EOF'
// Command peer runs one upstream component, chosen by its first argument.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer kube-apiserver|kube-controller-manager|kube-scheduler|etcd [flags]")
		os.Exit(2)
	}
	var cmd *cobra.Command
	switch os.Args[1] {
	case "kube-apiserver":
		cmd = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		cmd = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		cmd = scheduler.NewSchedulerCommand()
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, os.Args[2:]...))
		return
	default:
		fmt.Fprintln(os.Stderr, "peer: unknown component", os.Args[1])
		os.Exit(2)
	}
	cmd.SetArgs(os.Args[2:])
	os.Exit(cli.Run(cmd))
}
EOF
v="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
go build -mod=mod -o "$dir/bin/peer" -ldflags "-s -w $v" .
for c in kube-apiserver kube-controller-manager kube-scheduler etcd; do
  printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/peer" %s "$@"\n' "$c" > "$dir/bin/$c"
  chmod +x "$dir/bin/$c"
done
GOBIN="$dir/bin" go install "sigs.k8s.io/kwok/cmd/kwokctl@$kwok" "sigs.k8s.io/kwok/cmd/kwok@$kwok"

kubectl=$(command -v kubectl || true)
if [ -z "$kubectl" ]; then
  # kwokctl wants a kubectl on PATH; the one built into localaks will do.
  go build -o "$dir/bin/localaks" "$root/cmd/localaks"
  printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/localaks" kubectl "$@"\n' > "$dir/bin/kubectl"
  chmod +x "$dir/bin/kubectl"
  kubectl=$dir/bin/kubectl
fi
cat > "$dir/kwokctl.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: $k8s
  bindAddress: 127.0.0.1
  kubectlBinary: $kubectl
  etcdBinary: $dir/bin/etcd
  kubeApiserverBinary: $dir/bin/kube-apiserver
  kubeControllerManagerBinary: $dir/bin/kube-controller-manager
  kubeSchedulerBinary: $dir/bin/kube-scheduler
  kwokControllerBinary: $dir/bin/kwok
EOF
echo "$dir"
