//go:build tools

// Package tools pins the Terraform providers the test suite builds from
// the Go module proxy (test/terraform), kept out of localaks's go.mod.
package tools

import _ "github.com/hashicorp/terraform-provider-azurerm"
