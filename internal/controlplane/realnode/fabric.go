package realnode

import (
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The fabric is a virtual network as real nodes see it: one Linux network
// namespace per virtual network, which plays Azure's software-defined
// network. Each subnet is a bridge in it whose first address (.1, Azure's
// default gateway) is the subnet's router; each node's NIC is a veth whose
// far end is on its subnet's bridge; the route table's routes are its
// kernel routes, so deleting a route with az cuts what it carried. The
// host's own namespace never gets an address or a route of it.

// netnsDir is where named network namespaces are pinned (iproute2's place,
// so `ip netns exec` reaches them).
const netnsDir = "/run/netns"

// fabric is one virtual network's namespace.
type fabric struct {
	name string
	ns   netns.NsHandle
	h    *netlink.Handle
}

// fabricName names a virtual network's namespace: stable for the data
// directory and the network, short enough for iproute2.
func fabricName(dataDir, vnetID string) string {
	h := fnv.New64a()
	h.Write([]byte(dataDir + "\x00" + strings.ToLower(vnetID)))
	return fmt.Sprintf("lak-%012x", h.Sum64()&0xffffffffffff)
}

// openFabric opens the namespace of a virtual network, creating it if it
// is not there (after a restart it is: re-adopted as it is).
func openFabric(name string) (*fabric, error) {
	ns, err := netns.GetFromName(name)
	if err != nil {
		if ns, err = newNamedNetns(name); err != nil {
			return nil, fmt.Errorf("create network namespace %s: %w", name, err)
		}
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return nil, err
	}
	f := &fabric{name: name, ns: ns, h: h}
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		f.close()
		return nil, fmt.Errorf("network namespace %s: loopback: %w", name, err)
	}
	// The namespace routes between subnets and to pods; it must not tell
	// nodes to go around it (a node's NIC holds a /32, Azure-style).
	for key, val := range map[string]string{"net/ipv4/ip_forward": "1", "net/ipv4/conf/all/send_redirects": "0",
		"net/ipv4/conf/default/send_redirects": "0"} {
		if err := f.sysctl(key, val); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

// newNamedNetns makes and pins a network namespace without moving the
// calling goroutine's thread out of the host's.
func newNamedNetns(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return netns.None(), err
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		// The thread is in the wrong namespace: keep it locked, so that the
		// runtime retires it with the goroutine.
		runtime.LockOSThread()
		return netns.None(), serr
	}
	return ns, err
}

func (f *fabric) close() {
	f.h.Close()
	f.ns.Close()
}

// sysctl sets a network sysctl inside the namespace (/proc/sys/net shows
// the namespace of the process that reads it, so through ip netns exec).
func (f *fabric) sysctl(key, val string) error {
	out, err := exec.Command("ip", "netns", "exec", f.name, "sysctl", "-q", "-w", strings.ReplaceAll(key, "/", ".")+"="+val).CombinedOutput()
	if err != nil {
		return fmt.Errorf("sysctl %s in %s: %v: %s", key, f.name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// bridgeName names a subnet's bridge (at most 15 bytes).
func bridgeName(prefix netip.Prefix) string {
	h := fnv.New32a()
	h.Write([]byte(prefix.String()))
	return fmt.Sprintf("sn-%08x", h.Sum32())
}

// gateway is a subnet's router address: its first host, as in Azure.
func gateway(prefix netip.Prefix) netip.Addr {
	return prefix.Masked().Addr().Next()
}

// ensureSubnet makes the subnet's bridge with its gateway address.
func (f *fabric) ensureSubnet(prefix netip.Prefix) (*netlink.Bridge, error) {
	name := bridgeName(prefix)
	link, err := f.h.LinkByName(name)
	if err != nil {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := f.h.LinkAdd(br); err != nil {
			return nil, fmt.Errorf("add bridge %s: %w", name, err)
		}
		if link, err = f.h.LinkByName(name); err != nil {
			return nil, err
		}
	}
	br, ok := link.(*netlink.Bridge)
	if !ok {
		return nil, fmt.Errorf("link %s in %s is a %s, not a bridge", name, f.name, link.Type())
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gateway(prefix).AsSlice(), Mask: net.CIDRMask(prefix.Bits(), 32)}}
	if err := f.h.AddrReplace(br, addr); err != nil {
		return nil, fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	if err := f.h.LinkSetUp(br); err != nil {
		return nil, err
	}
	return br, nil
}

// ensureAddress puts an address (/32) on the fabric's loopback: the API
// server's advertised address, which the namespace itself answers for.
func (f *fabric) ensureAddress(ip netip.Addr) error {
	lo, err := f.h.LinkByName("lo")
	if err != nil {
		return err
	}
	return f.h.AddrReplace(lo, &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(32, 32)}})
}

// nicName names a node's NIC on the fabric side (at most 15 bytes).
func nicName(node string) string {
	h := fnv.New32a()
	h.Write([]byte(node))
	return fmt.Sprintf("nic-%08x", h.Sum32())
}

// plug wires a node into its subnet: a veth whose fabric end joins the
// subnet's bridge and whose other end becomes eth0 in the namespace of
// process pid, with the node's private address as a /32 and the subnet's
// gateway as its only router.
func (f *fabric) plug(node string, pid int, prefix netip.Prefix, ip netip.Addr) error {
	br, err := f.ensureSubnet(prefix)
	if err != nil {
		return err
	}
	name := nicName(node)
	if old, err := f.h.LinkByName(name); err == nil {
		// A NIC left by a node process that died: its peer went with it.
		if err := f.h.LinkDel(old); err != nil {
			return err
		}
	}
	peer := "eth0-" + fmt.Sprint(pid%100000)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, MasterIndex: br.Index, MTU: 1500}, PeerName: peer, PeerNamespace: netlink.NsPid(pid)}
	if err := f.h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s: %w", name, err)
	}
	link, err := f.h.LinkByName(name)
	if err != nil {
		return err
	}
	if err := f.h.LinkSetUp(link); err != nil {
		return err
	}
	nodeNS, err := netns.GetFromPid(pid)
	if err != nil {
		return err
	}
	defer nodeNS.Close()
	nh, err := netlink.NewHandleAt(nodeNS)
	if err != nil {
		return err
	}
	defer nh.Close()
	eth, err := nh.LinkByName(peer)
	if err != nil {
		return err
	}
	if err := nh.LinkSetName(eth, "eth0"); err != nil {
		return err
	}
	if err := nh.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
		return fmt.Errorf("address %s on the node's eth0: %w", ip, err)
	}
	if err := nh.LinkSetUp(eth); err != nil {
		return err
	}
	gw := gateway(prefix).AsSlice()
	if err := nh.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}, Scope: netlink.SCOPE_LINK}); err != nil {
		return fmt.Errorf("route to the gateway: %w", err)
	}
	if err := nh.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	// The fabric reaches the node by ARP on the subnet's bridge; the node
	// reaches everything else through the gateway, as an Azure VM does.
	if lo, err := nh.LinkByName("lo"); err == nil {
		if err := nh.LinkSetUp(lo); err != nil {
			return err
		}
	}
	return nil
}

// unplug removes a node's NIC (if its process is gone, the kernel already
// did).
func (f *fabric) unplug(node string) error {
	link, err := f.h.LinkByName(nicName(node))
	if err != nil {
		return nil //nolint:nilerr // no such link: nothing to remove
	}
	return f.h.LinkDel(link)
}

// setRoutes makes the namespace's routes to pod ranges exactly want
// (prefix → next-hop node address). Routes the fabric did not make (the
// subnets' own) are left alone.
func (f *fabric) setRoutes(want map[netip.Prefix]netip.Addr) error {
	routes, err := f.h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Protocol != routeProtocol || r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		addr, _ := netip.AddrFromSlice(r.Dst.IP.To4())
		pfx := netip.PrefixFrom(addr, ones)
		gw, _ := netip.AddrFromSlice(r.Gw.To4())
		if hop, ok := want[pfx]; ok && hop == gw {
			delete(want, pfx)
			continue
		}
		if err := f.h.RouteDel(&r); err != nil {
			return fmt.Errorf("remove route %s: %w", pfx, err)
		}
	}
	for pfx, hop := range want {
		r := &netlink.Route{Dst: &net.IPNet{IP: pfx.Addr().AsSlice(), Mask: net.CIDRMask(pfx.Bits(), 32)}, Gw: hop.AsSlice(), Protocol: routeProtocol}
		if err := f.h.RouteReplace(r); err != nil {
			return fmt.Errorf("route %s via %s: %w", pfx, hop, err)
		}
	}
	return nil
}

// routeProtocol marks the routes the fabric owns (a private number in the
// kernel's route protocol space).
const routeProtocol = netlink.RouteProtocol(0x4c)

// nics counts the node NICs still plugged in.
func (f *fabric) nics() (int, error) {
	links, err := f.h.LinkList()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "nic-") {
			n++
		}
	}
	return n, nil
}

// removeFabric deletes a virtual network's namespace.
func removeFabric(name string) error {
	if _, err := os.Stat(filepath.Join(netnsDir, name)); os.IsNotExist(err) {
		return nil
	}
	return netns.DeleteNamed(name)
}

// inNetns runs fn on a thread inside ns: sockets fn opens belong to ns.
func inNetns(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return err
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // retire the thread with the goroutine
		return err
	}
	return ferr
}
