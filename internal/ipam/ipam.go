// Package ipam is the address arithmetic of Azure and AKS networking:
// prefixes and overlaps, Azure's reserved addresses per subnet, address
// allocation inside subnets, per-node pod CIDR blocks (kubenet and Azure CNI
// Overlay) and Azure CNI pre-allocation sizing. It is pure: callers pass in
// what is already used and record what they get.
package ipam

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strings"
)

// AzureReserved is how many addresses Azure keeps in every subnet: the
// network address, the first three host addresses (gateway and DNS) and the
// broadcast address.
const AzureReserved = 5

// ErrFull reports that a prefix has no room left.
var ErrFull = errors.New("no free addresses")

// ParsePrefix parses a CIDR that must be in canonical form (no host bits
// set), as Azure requires: "10.0.0.0/16" is fine, "10.0.0.1/16" is not.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR: %w", s, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR: the address has bits set beyond the prefix length (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

// Overlaps reports whether two prefixes share an address.
func Overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// Contains reports whether inner lies entirely inside outer.
func Contains(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Size is the number of addresses in p (capped at MaxInt64 for huge IPv6
// prefixes).
func Size(p netip.Prefix) int64 {
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits >= 63 {
		return math.MaxInt64
	}
	return int64(1) << hostBits
}

// Usable is the number of addresses Azure lets resources use in a subnet.
func Usable(subnet netip.Prefix) int64 {
	n := Size(subnet) - AzureReserved
	if n < 0 {
		return 0
	}
	return n
}

// Nth returns the address at offset n from the start of p.
func Nth(p netip.Prefix, n int64) (netip.Addr, error) {
	if n < 0 || n >= Size(p) {
		return netip.Addr{}, fmt.Errorf("offset %d outside %s", n, p)
	}
	b := new(big.Int).SetBytes(p.Addr().AsSlice())
	b.Add(b, big.NewInt(n))
	raw := b.Bytes()
	out := make([]byte, p.Addr().BitLen()/8)
	copy(out[len(out)-len(raw):], raw)
	a, _ := netip.AddrFromSlice(out)
	return a, nil
}

// offset is the position of a within p.
func offset(p netip.Prefix, a netip.Addr) int64 {
	x := new(big.Int).SetBytes(a.AsSlice())
	x.Sub(x, new(big.Int).SetBytes(p.Addr().AsSlice()))
	return x.Int64()
}

// SubnetPool hands out addresses of an Azure subnet in ascending order,
// skipping the reserved ones and those already in use.
type SubnetPool struct {
	prefix netip.Prefix
	used   map[netip.Addr]bool
	next   int64
}

// NewSubnetPool returns a pool over subnet with the given addresses taken.
func NewSubnetPool(subnet netip.Prefix, used []netip.Addr) *SubnetPool {
	p := &SubnetPool{prefix: subnet, used: map[netip.Addr]bool{}, next: 4}
	for _, a := range used {
		p.used[a] = true
	}
	return p
}

// Free is the number of addresses still available.
func (p *SubnetPool) Free() int64 {
	n := Usable(p.prefix)
	for a := range p.used {
		if off := offset(p.prefix, a); p.prefix.Contains(a) && off >= 4 && off < Size(p.prefix)-1 {
			n--
		}
	}
	return n
}

// Allocate returns the lowest free address.
func (p *SubnetPool) Allocate() (netip.Addr, error) {
	last := Size(p.prefix) - 1 // broadcast, reserved
	for ; p.next < last; p.next++ {
		a, _ := Nth(p.prefix, p.next)
		if !p.used[a] {
			p.used[a] = true
			p.next++
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s: %w", p.prefix, ErrFull)
}

// AllocateN returns n free addresses, or none and ErrFull if there are
// fewer than n.
func (p *SubnetPool) AllocateN(n int) ([]netip.Addr, error) {
	if int64(n) > p.Free() {
		return nil, fmt.Errorf("subnet %s needs %d more addresses, has %d: %w", p.prefix, n, p.Free(), ErrFull)
	}
	out := make([]netip.Addr, 0, n)
	for i := 0; i < n; i++ {
		a, err := p.Allocate()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Take marks a specific address as used; it fails if the address is outside
// the subnet, reserved or taken.
func (p *SubnetPool) Take(a netip.Addr) error {
	if !p.prefix.Contains(a) {
		return fmt.Errorf("%s is not in subnet %s", a, p.prefix)
	}
	if off := offset(p.prefix, a); off < 4 || off == Size(p.prefix)-1 {
		return fmt.Errorf("%s is reserved by Azure in subnet %s", a, p.prefix)
	}
	if p.used[a] {
		return fmt.Errorf("%s is already in use in subnet %s", a, p.prefix)
	}
	p.used[a] = true
	return nil
}

// NextBlock returns the lowest block of the given prefix length inside
// within that overlaps none of used — the node pod CIDRs of kubenet and
// Azure CNI Overlay (/24 per node, in order: node 0 gets 10.244.0.0/24).
func NextBlock(within netip.Prefix, bits int, used []netip.Prefix) (netip.Prefix, error) {
	a, err := NewBlockAllocator(within, bits, used)
	if err != nil {
		return netip.Prefix{}, err
	}
	return a.Next()
}

// BlockAllocator hands out the blocks of one size inside a prefix, lowest
// first, skipping used ones; handing out n blocks costs O(n + used).
type BlockAllocator struct {
	within netip.Prefix
	bits   int
	step   int64
	count  int64
	next   int64
	exact  map[netip.Prefix]bool // used blocks of this size
	other  []netip.Prefix        // used prefixes of other sizes
}

// NewBlockAllocator returns an allocator of /bits blocks in within.
func NewBlockAllocator(within netip.Prefix, bits int, used []netip.Prefix) (*BlockAllocator, error) {
	if bits < within.Bits() || bits > within.Addr().BitLen() {
		return nil, fmt.Errorf("a /%d block does not fit in %s", bits, within)
	}
	a := &BlockAllocator{within: within, bits: bits, exact: map[netip.Prefix]bool{}}
	a.step = Size(netip.PrefixFrom(within.Addr(), bits))
	a.count = Size(within) / a.step
	for _, u := range used {
		if u.Bits() == bits {
			a.exact[u.Masked()] = true
		} else {
			a.other = append(a.other, u)
		}
	}
	return a, nil
}

// Next returns the lowest free block and marks it used.
func (a *BlockAllocator) Next() (netip.Prefix, error) {
	for ; a.next < a.count; a.next++ {
		addr, _ := Nth(a.within, a.next*a.step)
		block := netip.PrefixFrom(addr, a.bits)
		if a.exact[block] || slices.ContainsFunc(a.other, block.Overlaps) {
			continue
		}
		a.exact[block] = true
		a.next++
		return block, nil
	}
	return netip.Prefix{}, fmt.Errorf("%s has no free /%d block: %w", a.within, a.bits, ErrFull)
}

// Blocks is how many blocks of the given prefix length fit in within.
func Blocks(within netip.Prefix, bits int) int64 {
	if bits < within.Bits() {
		return 0
	}
	return Size(within) / Size(netip.PrefixFrom(within.Addr(), bits))
}

// Forbidden are the ranges AKS refuses for service, pod and VNet ranges.
var Forbidden = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.30.0.0/16"),
	netip.MustParsePrefix("172.31.0.0/16"),
	netip.MustParsePrefix("192.0.2.0/24"),
}

// ForbiddenOverlap returns the forbidden range p overlaps, if any.
func ForbiddenOverlap(p netip.Prefix) (netip.Prefix, bool) {
	for _, f := range Forbidden {
		if f.Overlaps(p) {
			return f, true
		}
	}
	return netip.Prefix{}, false
}

// CNIPreallocation is how many subnet addresses Azure CNI (node subnet mode)
// reserves for a pool: every node, surge nodes included, takes its own
// address plus maxPods pod addresses.
func CNIPreallocation(nodes, surge, maxPods int) int64 {
	return int64(nodes+surge) * int64(maxPods+1)
}

// Surge is the number of extra nodes an upgrade adds for maxSurge, which is
// a count ("3") or a percentage of the node count ("33%", rounded up).
// Empty means AKS's default of 10%.
func Surge(maxSurge string, nodes int) (int, error) {
	if maxSurge == "" {
		maxSurge = "10%"
	}
	if pct, ok := strings.CutSuffix(maxSurge, "%"); ok {
		var n int
		if _, err := fmt.Sscanf(pct, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != pct {
			return 0, fmt.Errorf("maxSurge %q is not a percentage", maxSurge)
		}
		return int(math.Ceil(float64(nodes) * float64(n) / 100)), nil
	}
	var n int
	if _, err := fmt.Sscanf(maxSurge, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != maxSurge {
		return 0, fmt.Errorf("maxSurge %q is neither a count nor a percentage", maxSurge)
	}
	return n, nil
}
