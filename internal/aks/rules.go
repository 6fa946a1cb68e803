package aks

import (
	"time"

	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/network"
)

// Rules is AKS's rules for requests: validation, defaults, merges,
// immutability and upgrade paths, checked against what already exists
// (subnets, other pools, instances). Each request kind has one entry
// point (PutCluster, PutPool, BeginClusterAction, …) that returns the
// records to Save.
type Rules struct {
	Net     *network.Provider
	Compute *compute.Provider
	// TenantOf maps a subscription to its tenant.
	TenantOf func(subscription string) string
	// IssuerBase is the URL clusters' OIDC issuers are served under
	// (localaks's own, e.g. https://localhost:7443).
	IssuerBase string
	// DefaultNodes is the node mode of pools that ask for none (NodesSimulated
	// when empty).
	DefaultNodes string
	// HostMissing lists what this host lacks to run real nodes (nil: not
	// checked).
	HostMissing func() []string
	// IdentityAccess checks, as AKS does before provisioning, that a
	// cluster's user-assigned or service-principal identity may join the
	// subnets it brings (role assignments are enforced; off under serve
	// --open).
	IdentityAccess bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (v *Rules) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Rules) issuerBase() string {
	if v.IssuerBase == "" {
		return "https://localhost:7443"
	}
	return v.IssuerBase
}
