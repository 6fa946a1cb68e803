package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

func mp(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ma(s string) netip.Addr   { return netip.MustParseAddr(s) }

func TestParsePrefix(t *testing.T) {
	for _, ok := range []string{"10.0.0.0/16", "10.244.0.0/16", "fd12:3456:789a::/64", " 10.1.0.0/24 "} {
		if _, err := ParsePrefix(ok); err != nil {
			t.Errorf("ParsePrefix(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.1/16", "10.0.0.0", "10.0.0.0/33", "x/8", ""} {
		if _, err := ParsePrefix(bad); err == nil {
			t.Errorf("ParsePrefix(%q) succeeded", bad)
		}
	}
}

func TestSizesAndContainment(t *testing.T) {
	tests := []struct {
		p            string
		size, usable int64
	}{
		{"10.224.0.0/16", 65536, 65531}, {"10.0.0.0/24", 256, 251}, {"10.0.0.0/29", 8, 3}, {"10.0.0.0/30", 4, 0}, {"10.0.0.0/32", 1, 0},
	}
	for _, tt := range tests {
		if got := Size(mp(tt.p)); got != tt.size {
			t.Errorf("Size(%s) = %d, want %d", tt.p, got, tt.size)
		}
		if got := Usable(mp(tt.p)); got != tt.usable {
			t.Errorf("Usable(%s) = %d, want %d", tt.p, got, tt.usable)
		}
	}
	if !Contains(mp("10.224.0.0/12"), mp("10.224.0.0/16")) || Contains(mp("10.224.0.0/16"), mp("10.224.0.0/12")) ||
		Contains(mp("10.224.0.0/12"), mp("10.2.0.0/16")) {
		t.Error("Contains")
	}
	if !Overlaps(mp("10.0.0.0/8"), mp("10.1.2.0/24")) || Overlaps(mp("10.0.0.0/16"), mp("10.1.0.0/16")) {
		t.Error("Overlaps")
	}
	if f, ok := ForbiddenOverlap(mp("172.30.5.0/24")); !ok || f != mp("172.30.0.0/16") {
		t.Error("ForbiddenOverlap 172.30.5.0/24")
	}
	if _, ok := ForbiddenOverlap(mp("10.0.0.0/16")); ok {
		t.Error("10.0.0.0/16 is not forbidden")
	}
	if _, ok := ForbiddenOverlap(mp("169.0.0.0/8")); !ok {
		t.Error("169.0.0.0/8 contains link-local and is forbidden")
	}
}

func TestSubnetPool(t *testing.T) {
	p := NewSubnetPool(mp("10.224.0.0/29"), nil) // 8 addresses, 3 usable: .4 .5 .6
	if p.Free() != 3 {
		t.Fatalf("Free = %d, want 3", p.Free())
	}
	var got []netip.Addr
	for i := 0; i < 3; i++ {
		a, err := p.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if got[0] != ma("10.224.0.4") || got[2] != ma("10.224.0.6") {
		t.Errorf("allocated %v, want .4 .5 .6", got)
	}
	if _, err := p.Allocate(); !errors.Is(err, ErrFull) {
		t.Errorf("fourth Allocate = %v, want ErrFull", err)
	}

	// Used addresses are skipped; AllocateN is all or nothing.
	q := NewSubnetPool(mp("10.0.0.0/28"), []netip.Addr{ma("10.0.0.5"), ma("10.0.0.99")})
	if q.Free() != 10 {
		t.Errorf("Free with one used = %d, want 10 (16-5-1; the outside address does not count)", q.Free())
	}
	as, err := q.AllocateN(2)
	if err != nil || as[0] != ma("10.0.0.4") || as[1] != ma("10.0.0.6") {
		t.Errorf("AllocateN(2) = %v, %v", as, err)
	}
	if _, err := q.AllocateN(9); !errors.Is(err, ErrFull) || q.Free() != 8 {
		t.Errorf("AllocateN over capacity: %v, free %d", err, q.Free())
	}
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{"10.0.0.7", true}, {"10.0.0.7", false}, {"10.0.0.1", false}, {"10.0.0.15", false}, {"10.1.0.9", false}} {
		if err := q.Take(ma(tt.addr)); (err == nil) != tt.ok {
			t.Errorf("Take(%s) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestNextBlock(t *testing.T) {
	pod := mp("10.244.0.0/16")
	var used []netip.Prefix
	for i := 0; i < 3; i++ {
		b, err := NextBlock(pod, 24, used)
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, b)
	}
	if used[0] != mp("10.244.0.0/24") || used[2] != mp("10.244.2.0/24") {
		t.Errorf("blocks = %v", used)
	}
	// A freed block in the middle is reused first.
	used = append(used[:1], used[2:]...)
	if b, _ := NextBlock(pod, 24, used); b != mp("10.244.1.0/24") {
		t.Errorf("after freeing node 1: %v", b)
	}
	if _, err := NextBlock(mp("10.244.0.0/23"), 24, []netip.Prefix{mp("10.244.0.0/24"), mp("10.244.1.0/24")}); !errors.Is(err, ErrFull) {
		t.Errorf("full /23: %v", err)
	}
	if _, err := NextBlock(mp("10.244.0.0/24"), 16, nil); err == nil {
		t.Error("a /16 in a /24")
	}
	if Blocks(mp("10.244.0.0/16"), 24) != 256 || Blocks(mp("10.244.0.0/22"), 24) != 4 || Blocks(mp("10.0.0.0/24"), 16) != 0 {
		t.Error("Blocks")
	}
}

func TestCNIPreallocationAndSurge(t *testing.T) {
	// A /24 has 251 usable addresses: 3 nodes + 1 surge at 30 pods need 124.
	if got := CNIPreallocation(3, 1, 30); got != 124 {
		t.Errorf("CNIPreallocation(3,1,30) = %d, want 124", got)
	}
	if got := CNIPreallocation(8, 0, 30); got != 248 {
		t.Errorf("8 nodes, 30 pods = %d, want 248", got)
	}
	for _, tt := range []struct {
		s     string
		nodes int
		want  int
		ok    bool
	}{
		{"", 3, 1, true}, {"10%", 3, 1, true}, {"10%", 20, 2, true}, {"33%", 3, 1, true}, {"100%", 5, 5, true},
		{"1", 3, 1, true}, {"0", 3, 0, true}, {"x", 3, 0, false}, {"-1", 3, 0, false}, {"1.5%", 3, 0, false},
	} {
		got, err := Surge(tt.s, tt.nodes)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("Surge(%q, %d) = %d, %v; want %d ok=%v", tt.s, tt.nodes, got, err, tt.want, tt.ok)
		}
	}
}

func TestNth(t *testing.T) {
	if a, _ := Nth(mp("10.224.0.0/16"), 260); a != ma("10.224.1.4") {
		t.Errorf("Nth 260 = %v", a)
	}
	if a, _ := Nth(mp("fd00::/64"), 5); a != ma("fd00::5") {
		t.Errorf("Nth v6 = %v", a)
	}
	if _, err := Nth(mp("10.0.0.0/30"), 4); err == nil {
		t.Error("Nth past the end")
	}
}
