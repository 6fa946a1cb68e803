package aks

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	mrand "math/rand"
	"net"
	"regexp"
	"strings"
)

// ClusterID is the 8-digit decimal ID in the names of a cluster's
// node-resource-group resources: AKS's node bootstrapper seeds a random
// source with the FNV-1a hash of the DNS prefix and formats its first
// Uint32 as %08d (first 8 digits). The same prefix always gives the same
// ID; all pools of a cluster share it.
func ClusterID(dnsPrefix string) string {
	h := fnv.New64a()
	h.Write([]byte(dnsPrefix))
	r := mrand.New(mrand.NewSource(int64(h.Sum64())))
	return fmt.Sprintf("%08d", r.Uint32())[:8]
}

// NodeResourceGroupName is MC_{rg}_{cluster}_{location}, as AKS names it
// (ARM's 90-character limit applies; AKS truncates to fit).
func NodeResourceGroupName(rg, cluster, location string) string {
	name := "MC_" + rg + "_" + cluster + "_" + location
	if len(name) > 80 {
		name = name[:80]
	}
	return name
}

// Names of node-resource-group resources.
func vnetName(id string) string           { return "aks-vnet-" + id }
func nsgName(id string) string            { return "aks-agentpool-" + id + "-nsg" }
func routeTableName(id string) string     { return "aks-agentpool-" + id + "-routetable" }
func vmssName(pool, id string) string     { return "aks-" + pool + "-" + id + "-vmss" }
func kubeletIdentityName(c string) string { return c + "-agentpool" }

const (
	managedSubnetName = "aks-subnet"
	// agicSubnetName is the subnet AKS makes for an add-on application
	// gateway from subnetCIDR [name unverified], defaultAGICSubnetCIDR the
	// CIDR when none is given (what the docs' examples use).
	agicSubnetName        = "ingress-appgateway-subnet"
	defaultAGICSubnetCIDR = "10.225.0.0/16"
	lbName                = "kubernetes"
	lbBackendPool         = "kubernetes"
	lbOutboundPool        = "aksOutboundBackendPool"
	lbOutboundRule        = "aksOutboundRule"
	managedVNetPrefix     = "10.224.0.0/12"
	managedSubnetPrefix   = "10.224.0.0/16"
	defaultVMSize         = "Standard_DS2_v2"
	defaultOSDiskSizeGB   = 128
	defaultMaxAgentPools  = 100
	defaultPodCIDR        = "10.244.0.0/16"
	defaultServiceCIDR    = "10.0.0.0/16"
	defaultDNSServiceIP   = "10.0.0.10"
	defaultDockerBridge   = "172.17.0.1/16"
	defaultAdminUsername  = "azureuser"
	systemIdentityPrefix  = "msi"
	nodeImageGalleryOwner = "/subscriptions/109a5e88-712a-48ae-9078-9ca8b3c81345/resourceGroups/AKS-Ubuntu/providers/Microsoft.Compute/galleries/AKSUbuntu/images/2204gen2containerd/versions/"
)

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

// FQDN is the API server's name: {dnsPrefix}-{8 hex}.hcp.{location}.azmk8s.io.
func FQDN(prefix, hash, location string) string {
	return fmt.Sprintf("%s-%s.hcp.%s.azmk8s.io", strings.ToLower(prefix), hash, location)
}

// PrivateFQDN is a private cluster's API server name: in AKS's own zone
// ({guid}.privatelink.{location}.azmk8s.io) with privateDNSZone "system"
// or "none", else in the zone privateDNSZone names (a resource ID).
func PrivateFQDN(prefix, hash, location, zone string) string {
	name := newGUID() + ".privatelink." + location + ".azmk8s.io"
	if i := strings.LastIndex(zone, "/"); i >= 0 {
		name = strings.ToLower(zone[i+1:])
	}
	return fmt.Sprintf("%s-%s.%s", strings.ToLower(prefix), hash, name)
}

// PortalFQDN is the API server's name for the Azure portal.
func PortalFQDN(prefix, hash, location string) string {
	return fmt.Sprintf("%s-%s.portal.hcp.%s.azmk8s.io", strings.ToLower(prefix), hash, location)
}

var nonDNS = regexp.MustCompile(`[^A-Za-z0-9-]`)

// DefaultDNSPrefix is what AKS (and az) derive when no DNS prefix is given:
// the cluster name (10), the resource group (16) and the subscription (6),
// with characters DNS does not allow dropped.
func DefaultDNSPrefix(cluster, rg, subscription string) string {
	name := nonDNS.ReplaceAllString(cluster, "")
	if len(name) > 10 {
		name = name[:10]
	}
	if name == "" || !isLetter(name[0]) {
		name = "a" + name
	}
	group := nonDNS.ReplaceAllString(rg, "")
	if len(group) > 16 {
		group = group[:16]
	}
	sub := subscription
	if len(sub) > 6 {
		sub = sub[:6]
	}
	return name + "-" + group + "-" + sub
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// rgResourceID builds a lower-case "resourcegroups" ID, as AKS writes IDs it
// refers to (effectiveOutboundIPs, kubelet identity).
func rgResourceID(sub, rg, ns, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/%s/%s/%s", sub, rg, ns, typ, name)
}

// advertiseAddress is the API server address a cluster's `kubernetes`
// Service endpoints show. Real AKS shows the API server's public IP; the
// loopback address the API server listens on cannot be an endpoint, so
// localaks derives a stable address in 198.18.0.0/15 (reserved for
// benchmarking, never routed) from the cluster's resourceUID.
func advertiseAddress(uid string) string {
	h := fnv.New32a()
	h.Write([]byte(uid))
	n := h.Sum32() % (1 << 17)
	// Skip the network and broadcast-looking .0 and .255 hosts.
	if b := n & 0xff; b == 0 || b == 255 {
		n ^= 1
	}
	return fmt.Sprintf("198.%d.%d.%d", 18+n>>16, (n>>8)&0xff, n&0xff)
}

// freePort finds an unused loopback TCP port that is not in used.
func freePort(used map[int]bool) (int, error) {
	for range 64 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port for the API server: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !used[port] {
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port for the API server: none after 64 tries")
}
