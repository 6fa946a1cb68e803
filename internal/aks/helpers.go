package aks

import (
	"encoding/json"
	"fmt"
)

// Small helpers.

func intp(n int) *int     { return &n }
func boolp(b bool) *bool  { return &b }
func isTrue(b *bool) bool { return b != nil && *b }
func intv(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

func newGUID() string {
	h := randomHex(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// RandomHex returns n random bytes in hex (IDs AKS makes up).
func RandomHex(n int) string { return randomHex(n) }
