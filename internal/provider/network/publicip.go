package network

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/store"
)

// PublicIPProperties are a public IP address's properties.
type PublicIPProperties struct {
	PublicIPAllocationMethod string            `json:"publicIPAllocationMethod"`
	PublicIPAddressVersion   string            `json:"publicIPAddressVersion"`
	IPAddress                string            `json:"ipAddress,omitempty"`
	IdleTimeoutInMinutes     int               `json:"idleTimeoutInMinutes"`
	IPTags                   []json.RawMessage `json:"ipTags"`
	DNSSettings              *PIPDNSSettings   `json:"dnsSettings,omitempty"`
	IPConfiguration          *SubResource      `json:"ipConfiguration,omitempty"`
	NATGateway               *SubResource      `json:"natGateway,omitempty"`
	ProvisioningState        string            `json:"provisioningState"`
	ResourceGUID             string            `json:"resourceGuid"`
}

// PIPDNSSettings is the DNS name of a public IP.
type PIPDNSSettings struct {
	DomainNameLabel string `json:"domainNameLabel,omitempty"`
	FQDN            string `json:"fqdn,omitempty"`
	ReverseFQDN     string `json:"reverseFqdn,omitempty"`
}

// SKU is a network SKU.
type SKU struct {
	Name string `json:"name"`
	Tier string `json:"tier,omitempty"`
}

var dnsLabelRule = regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`)

func (p *Provider) registerPublicIPs(reg *arm.Registry) {
	t := p.tracked("publicIPAddresses", validName)
	t.Prepare = p.preparePublicIP
	t.BeforeDelete = func(tx store.Tx, r *store.Resource) error {
		props, err := decode[PublicIPProperties](r)
		if err != nil {
			return err
		}
		if user := firstRef(props.IPConfiguration, props.NATGateway); user != "" {
			return badRequest("PublicIPAddressCannotBeDeleted",
				"Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.",
				r.ID, user)
		}
		return nil
	}
	t.Install(reg)
	p.PublicIPs = t
}

func firstRef(refs ...*SubResource) string {
	for _, r := range refs {
		if r != nil && r.ID != "" {
			return r.ID
		}
	}
	return ""
}

func (p *Provider) preparePublicIP(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	props, err := decode[PublicIPProperties](r)
	if err != nil {
		return err
	}
	sku := SKU{Name: "Standard", Tier: "Regional"}
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &sku); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	var ok bool
	if sku.Name, ok = canonicalOf(sku.Name, "Standard", "Basic"); !ok {
		return badRequest("InvalidPublicIpSku", "Public IP address SKU %s is invalid. Allowed values: Basic, Standard.", sku.Name)
	}
	if sku.Tier == "" {
		sku.Tier = "Regional"
	}
	r.SKU, _ = json.Marshal(sku)
	if props.PublicIPAllocationMethod == "" {
		props.PublicIPAllocationMethod = map[string]string{"Standard": "Static", "Basic": "Dynamic"}[sku.Name]
	}
	if props.PublicIPAllocationMethod, ok = canonicalOf(props.PublicIPAllocationMethod, "Static", "Dynamic"); !ok {
		return badRequest("InvalidPublicIpAllocationMethod", "Public IP allocation method %s is invalid. Allowed values: Static, Dynamic.", props.PublicIPAllocationMethod)
	}
	if sku.Name == "Standard" && props.PublicIPAllocationMethod != "Static" {
		return badRequest("StandardSkuPublicIPAddressesCannotBeDynamic",
			"Standard sku publicIp %s must have allocation method Static.", r.ID)
	}
	if props.PublicIPAddressVersion == "" {
		props.PublicIPAddressVersion = "IPv4"
	}
	if props.PublicIPAddressVersion != "IPv4" {
		return badRequest("PublicIPAddressVersionNotSupported", "localaks allocates IPv4 public addresses only; %s was requested.", props.PublicIPAddressVersion)
	}
	if props.IdleTimeoutInMinutes == 0 {
		props.IdleTimeoutInMinutes = 4
	}
	if props.IdleTimeoutInMinutes < 4 || props.IdleTimeoutInMinutes > 30 {
		return badRequest("PublicIPIdleTimeoutIsOutOfRange",
			"IdleTimeoutInMinutes %d for public IP %s is out of range; it must be between 4 and 30.", props.IdleTimeoutInMinutes, r.Name)
	}
	if props.IPTags == nil {
		props.IPTags = []json.RawMessage{}
	}
	var old *PublicIPProperties
	if existing != nil {
		if old, err = decode[PublicIPProperties](existing); err != nil {
			return err
		}
		// Read-only: who uses the address, and the address itself.
		props.IPConfiguration, props.NATGateway, props.ResourceGUID = old.IPConfiguration, old.NATGateway, old.ResourceGUID
		if old.IPAddress != "" {
			props.IPAddress = old.IPAddress
		}
	} else {
		props.IPConfiguration, props.NATGateway = nil, nil
		if props.IPAddress != "" {
			// Clients may not choose the address; Azure assigns it.
			props.IPAddress = ""
		}
	}
	if props.DNSSettings != nil && props.DNSSettings.DomainNameLabel != "" {
		label := props.DNSSettings.DomainNameLabel
		if !dnsLabelRule.MatchString(label) {
			return badRequest("InvalidDomainNameLabel",
				"The domain name label %s is invalid. It must conform to the following regular expression: ^[a-z][a-z0-9-]{1,61}[a-z0-9]$.", label)
		}
		props.DNSSettings.FQDN = label + "." + r.Location + ".cloudapp.azure.com"
		if err := p.checkFQDNFree(tx, r.ID, props.DNSSettings.FQDN); err != nil {
			return err
		}
	} else if props.DNSSettings != nil {
		props.DNSSettings = nil
	}
	if props.IPAddress == "" {
		addr, err := p.allocatePublicIP(tx)
		if err != nil {
			return err
		}
		props.IPAddress = addr.String()
	}
	props.ProvisioningState = "Succeeded"
	props.ResourceGUID = guid(props.ResourceGUID)
	return encode(r, props)
}

// allocatePublicIP takes the lowest free address of the pool. Addresses are
// unique across the instance, as public addresses are across Azure.
func (p *Provider) allocatePublicIP(tx store.Tx) (netip.Addr, error) {
	pips, err := tx.List(store.Query{Type: PublicIPType})
	if err != nil {
		return netip.Addr{}, err
	}
	var used []netip.Addr
	for _, r := range pips {
		props, err := decode[PublicIPProperties](r)
		if err != nil {
			return netip.Addr{}, err
		}
		if a, err := netip.ParseAddr(props.IPAddress); err == nil {
			used = append(used, a)
		}
	}
	addr, err := ipam.NewSubnetPool(p.pool, used).Allocate()
	if err != nil {
		return netip.Addr{}, arm.Errorf(http.StatusBadRequest, "PublicIPCountLimitReached",
			"Cannot create more than %d public IP addresses: the public IP pool %s of this localaks is exhausted (see serve --public-ip-pool).",
			ipam.Usable(p.pool), p.pool)
	}
	return addr, nil
}

func (p *Provider) checkFQDNFree(tx store.Tx, self, fqdn string) error {
	pips, err := tx.List(store.Query{Type: PublicIPType})
	if err != nil {
		return err
	}
	for _, r := range pips {
		if strings.EqualFold(r.ID, self) {
			continue
		}
		props, err := decode[PublicIPProperties](r)
		if err != nil {
			return err
		}
		if props.DNSSettings != nil && strings.EqualFold(props.DNSSettings.FQDN, fqdn) {
			return badRequest("DnsRecordInUse", "DNS record %s is already used by another public IP.", fqdn)
		}
	}
	return nil
}

// setPublicIPUser records (or clears, with user "") what uses a public IP:
// a load balancer frontend or a NAT gateway.
func (p *Provider) setPublicIPUser(tx store.Tx, pipID, user string, nat bool) error {
	r, err := tx.Get(pipID)
	if err != nil {
		return arm.Errorf(http.StatusNotFound, "InvalidResourceReference",
			"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", pipID, user)
	}
	props, err := decode[PublicIPProperties](r)
	if err != nil {
		return err
	}
	var ref *SubResource
	if user != "" {
		ref = Ref(user)
	}
	if nat {
		props.NATGateway = ref
	} else {
		props.IPConfiguration = ref
	}
	if err := encode(r, props); err != nil {
		return err
	}
	return tx.Put(r)
}

// PublicIPAddress reads the address of a public IP resource.
func (p *Provider) PublicIPAddress(tx store.Tx, pipID string) (string, error) {
	r, err := tx.Get(pipID)
	if err != nil {
		return "", err
	}
	props, err := decode[PublicIPProperties](r)
	if err != nil {
		return "", err
	}
	return props.IPAddress, nil
}
