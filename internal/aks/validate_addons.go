package aks

import (
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// AKS's rules for add-ons.

// ValidateAddons checks the add-ons' settings: the Application Gateway
// Ingress Controller needs an existing gateway (applicationGatewayId), or a
// name and a subnet for the one AKS creates — subnetCIDR inside the
// cluster's virtual network, or an existing subnetId.
func (v *Rules) ValidateAddons(tx store.Tx, c *Cluster, pools []*Pool) error {
	key, a := c.Props.Addon(AGICAddon)
	if a == nil || !a.Enabled {
		return nil
	}
	target := "addonProfiles." + key + ".config"
	cfg := map[string]string{}
	for k, val := range a.Config {
		cfg[strings.ToLower(k)] = val
	}
	if id := cfg["applicationgatewayid"]; id != "" {
		if _, err := resourceid.Parse(id); err != nil {
			return badRequest("InvalidParameter", target+".applicationGatewayId", "Application gateway ID '%s' is not a valid resource ID.", id)
		}
		if _, err := tx.Get(id); err != nil {
			return badRequest("InvalidParameter", target+".applicationGatewayId", "Application gateway '%s' was not found.", id)
		}
		return nil
	}
	if cfg["applicationgatewayname"] == "" {
		return badRequest("InvalidParameter", target, "The ingress-appgw add-on needs applicationGatewayId, or applicationGatewayName with subnetCIDR or subnetId.")
	}
	if err := ValidateAppGatewayName(cfg["applicationgatewayname"]); err != nil {
		return err
	}
	if id := cfg["subnetid"]; id != "" {
		if _, _, err := v.Net.Subnet(tx, id); err != nil {
			return badRequest("InvalidParameter", target+".subnetId", "Subnet '%s' for the application gateway was not found.", id)
		}
		return nil
	}
	cidr := cfg["subnetcidr"]
	if cidr == "" {
		cidr = defaultAGICSubnetCIDR
		a.Config["subnetCIDR"] = cidr
	}
	pfx, err := netip.ParsePrefix(cidr)
	if err != nil || pfx.Masked() != pfx {
		return badRequest("InvalidParameter", target+".subnetCIDR", "Subnet CIDR '%s' for the application gateway is not a valid CIDR.", cidr)
	}
	vnetPrefixes := []netip.Prefix{netip.MustParsePrefix(managedVNetPrefix)}
	for _, p := range pools {
		if p.Props.VnetSubnetID != "" {
			vnetPrefixes, err = v.vnetPrefixes(tx, p.Props.VnetSubnetID)
			if err != nil {
				return err
			}
			break
		}
	}
	inside := false
	for _, vp := range vnetPrefixes {
		inside = inside || (vp.Contains(pfx.Addr()) && vp.Bits() <= pfx.Bits())
	}
	if !inside {
		return badRequest("IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork", target+".subnetCIDR",
			"Subnet CIDR %s for the application gateway is not contained within the cluster's virtual network address space %v.", cidr, vnetPrefixes)
	}
	if nodes := netip.MustParsePrefix(managedSubnetPrefix); len(pools) > 0 && pools[0].Props.VnetSubnetID == "" && nodes.Overlaps(pfx) {
		return badRequest("IngressAppGwAddonConfigInvalidSubnetCIDRNotContainedWithinVirtualNetwork", target+".subnetCIDR",
			"Subnet CIDR %s for the application gateway overlaps the node subnet %s.", cidr, nodes)
	}
	return nil
}
