#!/usr/bin/env bash
# gofmt, go vet and staticcheck (pinned, fetched through the module proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$out" ]; then
  echo "gofmt needed:"; echo "$out"; exit 1
fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
