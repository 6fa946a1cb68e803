//go:build tools

// Package tools pins OpenTofu, which the Terraform tests build from the Go
// module proxy when no terraform or tofu is on PATH (test/terraform).
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
