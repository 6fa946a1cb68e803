//go:build tools

// Package tools pins kubelogin, the Entra ID credential plugin the tests
// run against localaks's Entra ID clusters, out of localaks's go.mod.
package tools

import _ "github.com/Azure/kubelogin"
