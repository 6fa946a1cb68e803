package aks

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/oidcissuer"
	"github.com/localaks/localaks/internal/provider/resources"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// A managed cluster PUT: create with AKS's defaults, or update by laying
// the body over the stored cluster.

// PutCluster applies a managed cluster PUT as AKS does. It returns the
// cluster and its pools marked as running operation opID (for Save), and
// whether the PUT creates the cluster.
func (v *Rules) PutCluster(tx store.Tx, req *arm.Request, id resourceid.ID, in *ClusterInput, opID string) (*Cluster, []*Pool, bool, error) {
	existing, err := tx.Get(id.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, false, err
	}
	if err := req.CheckPreconditions(existing); err != nil {
		return nil, nil, false, err
	}
	if existing == nil {
		c, pools, err := v.prepareCreate(tx, req, id, in, opID)
		return c, pools, true, err
	}
	c, pools, err := v.prepareUpdate(tx, req, id, in, opID)
	return c, pools, false, err
}

// ClusterInput is a managed cluster PUT body.
type ClusterInput struct {
	Location         *string           `json:"location"`
	Tags             map[string]string `json:"tags"`
	SKU              json.RawMessage   `json:"sku"`
	Identity         json.RawMessage   `json:"identity"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation"`
	Kind             string            `json:"kind"`
	Properties       json.RawMessage   `json:"properties"`
}

func decodeClusterInput(id resourceid.ID, in *ClusterInput) (*Cluster, []json.RawMessage, error) {
	rec := &store.Resource{ID: id.String(), Type: ClusterType, Name: id.Name(), Tags: in.Tags, SKU: in.SKU, Identity: nullable(in.Identity),
		ExtendedLocation: nullable(in.ExtendedLocation), Kind: in.Kind, Properties: in.Properties}
	c, err := DecodeCluster(rec)
	if err != nil {
		return nil, nil, arm.ErrInvalidRequestContent(err.Error())
	}
	return c, c.Props.AgentPoolProfiles, nil
}

func nullable(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" || len(raw) == 0 {
		return nil
	}
	return raw
}

// prepareCreate builds a new cluster and its pools from a PUT body:
// defaults, validation, and the read-only properties AKS fills in.
func (v *Rules) prepareCreate(tx store.Tx, req *arm.Request, id resourceid.ID, in *ClusterInput, opID string) (*Cluster, []*Pool, error) {
	rg := resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName())
	if _, err := tx.Get(rg.String()); errors.Is(err, store.ErrNotFound) {
		return nil, nil, arm.ErrResourceGroupNotFound(id.ResourceGroupName())
	} else if err != nil {
		return nil, nil, err
	}
	region, err := arm.RequireLocation(in.Location, func(loc string) error {
		return arm.Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location '%s' and API version '%s' for type 'managedClusters'. The supported api-versions are '%s'. The supported locations are '%s'.",
			loc, req.APIVersion, strings.Join(APIVersions, ", "), strings.Join(regions.List(), ", "))
	})
	if err != nil {
		return nil, nil, err
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, nil, err
	}
	c, profiles, err := decodeClusterInput(id, in)
	if err != nil {
		return nil, nil, err
	}
	c.Record.Location = region.Name
	if err := normalizeSKU(c); err != nil {
		return nil, nil, err
	}
	v.DefaultCluster(c, id.SubscriptionID(), id.ResourceGroupName())
	var pools []*Pool
	for i, raw := range profiles {
		pool, err := DecodePoolJSON(raw)
		if err != nil {
			return nil, nil, arm.ErrInvalidRequestContent(err.Error())
		}
		if pool.Props.Name == "" {
			return nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The agent pool at index %d has no name.", i).WithTarget("agentPoolProfiles")
		}
		pool.Record = &store.Resource{ID: id.String() + "/agentPools/" + pool.Props.Name, Type: PoolType, Name: pool.Props.Name}
		pools = append(pools, pool)
	}
	// Pools default against the cluster's resolved version.
	if v, ok := Versions.Resolve(c.Props.KubernetesVersion); ok {
		c.Props.CurrentKubernetesVersion = v
	}
	for _, pool := range pools {
		if err := fromSnapshot(tx, pool); err != nil {
			return nil, nil, err
		}
		v.DefaultPool(c, pool, true)
	}
	c.defaultAutoScalerProfile(anyAutoscaled(pools))
	if err := v.ValidateCluster(tx, c, pools); err != nil {
		return nil, nil, err
	}
	for _, pool := range pools {
		if pool.Props.OrchestratorVersion == "" {
			pool.Props.OrchestratorVersion = c.Props.KubernetesVersion
		}
	}
	if err := v.ValidateIdentity(tx, c, v.TenantOf(id.SubscriptionID())); err != nil {
		return nil, nil, err
	}
	if err := checkAAD(c, nil, v.TenantOf(id.SubscriptionID())); err != nil {
		return nil, nil, err
	}
	if err := v.checkSubnetAccess(tx, c, pools); err != nil {
		return nil, nil, err
	}
	if err := v.ValidateAddons(tx, c, pools); err != nil {
		return nil, nil, err
	}
	if err := v.setIssuer(c, nil, id.SubscriptionID()); err != nil {
		return nil, nil, err
	}
	prefix := c.Props.DNSPrefix
	if prefix == "" {
		prefix = c.Props.FQDNSubdomain
	}
	st := c.Props.Localaks
	st.ID = ClusterID(prefix)
	st.FQDNHash = randomHex(4)
	c.Props.FQDN = FQDN(prefix, st.FQDNHash, c.Record.Location)
	c.Props.AzurePortalFQDN = PortalFQDN(prefix, st.FQDNHash, c.Record.Location)
	if ap := c.Props.APIServerAccessProfile; ap != nil && isTrue(ap.EnablePrivateCluster) {
		if ap.PrivateDNSZone == "" {
			ap.PrivateDNSZone = "system"
		}
		c.Props.PrivateFQDN = PrivateFQDN(prefix, st.FQDNHash, c.Record.Location, ap.PrivateDNSZone)
	}
	c.Props.ResourceUID = randomHex(12)
	c.begin(opID, StateCreating)
	c.Props.PowerState = &PowerState{Code: PowerRunning}
	for _, pool := range pools {
		pool.begin(opID, StateCreating)
	}
	arm.Stamp(c.Record, req.Caller, v.now())
	return c, pools, nil
}

func normalizeSKU(c *Cluster) error {
	sku := struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	}{Name: "Base", Tier: "Free"}
	if len(c.Record.SKU) > 0 {
		if err := json.Unmarshal(c.Record.SKU, &sku); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	switch strings.ToLower(sku.Name) {
	case "", "base", "basic":
		sku.Name = "Base"
	case "automatic":
		sku.Name = "Automatic"
	default:
		return Error(http.StatusBadRequest, "InvalidParameter", "sku.name", "The managed cluster SKU name '%s' is not supported; use Base or Automatic.", sku.Name)
	}
	switch strings.ToLower(sku.Tier) {
	case "", "free":
		sku.Tier = "Free"
	case "standard", "paid":
		sku.Tier = "Standard"
	case "premium":
		sku.Tier = "Premium"
	default:
		return Error(http.StatusBadRequest, "InvalidParameter", "sku.tier", "The managed cluster SKU tier '%s' is not supported; use Free, Standard or Premium.", sku.Tier)
	}
	raw, err := json.Marshal(sku)
	if err != nil {
		return err
	}
	c.Record.SKU = raw
	return nil
}

// prepareUpdate applies a PUT to an existing cluster. Properties the body
// leaves out keep their values, as AKS treats them; immutable ones may not
// change; pools may change (count, version, labels...) but not be added.
func (v *Rules) prepareUpdate(tx store.Tx, req *arm.Request, id resourceid.ID, in *ClusterInput, opID string) (*Cluster, []*Pool, error) {
	c, pools, err := Get(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckTerminal(c, pools); err != nil {
		return nil, nil, err
	}
	if c.Stopped() {
		return nil, nil, notAllowed("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Stopped), updating cannot be performed. Please start the cluster first: https://aka.ms/aks/start",
			c.Props.ProvisioningState)
	}
	if in.Location != nil {
		if r, ok := regions.Lookup(*in.Location); !ok || r.Name != c.Record.Location {
			return nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidResourceLocation",
				"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
				id.Name(), c.Record.Location, id.ResourceGroupName(), *in.Location)
		}
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, nil, err
	}
	_, profiles, err := decodeClusterInput(id, in)
	if err != nil {
		return nil, nil, err
	}
	old := c.Props
	if err := mergeClusterSpec(c, in.Properties); err != nil {
		return nil, nil, err
	}
	c.Record.Tags = in.Tags
	c.defaultAutoScalerProfile(false)
	if len(in.SKU) > 0 {
		c.Record.SKU = in.SKU
		if err := normalizeSKU(c); err != nil {
			return nil, nil, err
		}
	}
	if len(nullable(in.Identity)) > 0 {
		prev := c.Record.Identity
		c.Record.Identity = nullable(in.Identity)
		if err := v.ValidateIdentity(tx, c, v.TenantOf(id.SubscriptionID())); err != nil {
			return nil, nil, err
		}
		c.Record.Identity = keepSystemPrincipal(prev, c.Record.Identity)
	}
	if err := checkAAD(c, old.AADProfile, v.TenantOf(id.SubscriptionID())); err != nil {
		return nil, nil, err
	}
	state := StateUpdating
	if c.Props.KubernetesVersion != old.KubernetesVersion {
		resolved, ok := Versions.Resolve(c.Props.KubernetesVersion)
		if !ok {
			return nil, nil, Error(http.StatusBadRequest, "K8sVersionNotSupported", "kubernetesVersion",
				"Managed cluster %s has invalid version %s. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list",
				id.Name(), c.Props.KubernetesVersion)
		}
		if resolved != old.CurrentKubernetesVersion {
			if Compare(resolved, old.CurrentKubernetesVersion) < 0 {
				return nil, nil, Error(http.StatusBadRequest, "NotAllowedDowngrade", "kubernetesVersion",
					"Downgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s.", old.CurrentKubernetesVersion, resolved,
					strings.Join(Versions.Upgrades(old.CurrentKubernetesVersion), ", "))
			}
			if !contains(Versions.Upgrades(old.CurrentKubernetesVersion), resolved) {
				return nil, nil, Error(http.StatusBadRequest, "OperationNotAllowed", "kubernetesVersion",
					"Upgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
					old.CurrentKubernetesVersion, resolved, strings.Join(Versions.Upgrades(old.CurrentKubernetesVersion), ", "))
			}
			c.Props.CurrentKubernetesVersion = resolved
			state = StateUpgrading
		}
	}
	// Pools: the body's agentPoolProfiles may change existing pools only.
	byName := map[string]*Pool{}
	counts := map[string]int{}
	for _, pool := range pools {
		byName[pool.Record.Name] = pool
		counts[pool.Record.Name] = max(*pool.Props.Count, intValue(pool.Props.MaxCount))
	}
	scaled := false
	for _, raw := range profiles {
		want, err := DecodePoolJSON(raw)
		if err != nil {
			return nil, nil, arm.ErrInvalidRequestContent(err.Error())
		}
		cur, ok := byName[want.Props.Name]
		if !ok {
			return nil, nil, Error(http.StatusBadRequest, "BadRequest", "",
				"A new agent pool was introduced. Adding agent pools to an existing cluster is not allowed through managed cluster operations. For agent pool specific change, please use per agent pool operations: https://aka.ms/agent-pool-rest-api")
		}
		changed, err := v.applyPoolChange(c, cur, raw, pools)
		if err != nil {
			return nil, nil, err
		}
		if changed == StateScaling {
			scaled = true
		}
		if changed != "" {
			cur.begin(opID, changed)
		}
	}
	if state == StateUpgrading {
		// az aks upgrade moves the pools along in the same PUT; pools not
		// named follow the control plane only if they were at its version.
		for _, pool := range pools {
			if pool.Props.CurrentOrchestratorVersion == old.CurrentKubernetesVersion && pool.Props.ProvisioningState == StateSucceeded {
				pool.Props.OrchestratorVersion = c.Props.KubernetesVersion
				pool.Props.CurrentOrchestratorVersion = c.Props.CurrentKubernetesVersion
				pool.begin(opID, StateUpgrading)
			}
		}
	} else if scaled {
		state = StateScaling
	}
	c.defaultAutoScalerProfile(anyAutoscaled(pools))
	if err := c.checkAutoScalerProfile(); err != nil {
		return nil, nil, err
	}
	if err := checkImmutable(&old, &c.Props); err != nil {
		return nil, nil, err
	}
	if err := v.setIssuer(c, old.OIDCIssuerProfile, id.SubscriptionID()); err != nil {
		return nil, nil, err
	}
	if err := v.ValidateAddons(tx, c, pools); err != nil {
		return nil, nil, err
	}
	if err := v.CheckGrowth(tx, c, pools, counts); err != nil {
		return nil, nil, err
	}
	c.begin(opID, state)
	arm.Stamp(c.Record, req.Caller, v.now())
	return c, pools, nil
}

// setIssuer gives a cluster whose OIDC issuer is on its issuer URL: a new
// one when it is turned on, the same one for its life after that. AKS does
// not let the issuer be turned off again; a body without the profile keeps
// it as it is.
func (v *Rules) setIssuer(c *Cluster, old *OIDCIssuerProfile, sub string) error {
	wasOn := old != nil && old.Enabled != nil && *old.Enabled
	cur := c.Props.OIDCIssuerProfile
	if cur == nil || cur.Enabled == nil {
		if old == nil {
			off := false
			old = &OIDCIssuerProfile{Enabled: &off}
		}
		cur = &OIDCIssuerProfile{Enabled: old.Enabled}
		c.Props.OIDCIssuerProfile = cur
	}
	switch {
	case wasOn && !*cur.Enabled:
		// AKS documents the rule, not its error code or text: chosen here.
		return Error(http.StatusBadRequest, "BadRequest", "oidcIssuerProfile.enabled",
			"The OIDC issuer cannot be disabled once it has been enabled.")
	case wasOn:
		cur.IssuerURL = old.IssuerURL
	case *cur.Enabled:
		cur.IssuerURL = oidcissuer.URL(v.issuerBase(), c.Record.Location, v.TenantOf(sub), uuid.NewString())
	default:
		cur.IssuerURL = ""
	}
	// Workload identity federates the issuer's tokens: AKS requires the
	// issuer (its code and text are not documented: chosen here).
	if c.WorkloadIdentityEnabled() && !*cur.Enabled {
		return Error(http.StatusBadRequest, "BadRequest", "securityProfile.workloadIdentity.enabled",
			"Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// mergeClusterSpec lays the body's properties over the stored cluster: keys
// present in the body replace, absent keys keep their value.
func mergeClusterSpec(c *Cluster, raw json.RawMessage) error {
	var present jsonx.Object
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &present); err != nil {
			return arm.ErrInvalidRequestContent(err.Error())
		}
	}
	merged, err := c.publicObject()
	if err != nil {
		return err
	}
	readOnly := map[string]bool{"provisioningState": true, "powerState": true, "maxAgentPools": true, "currentKubernetesVersion": true,
		"fqdn": true, "azurePortalFQDN": true, "privateFQDN": true, "resourceUID": true, "agentPoolProfiles": true}
	for k, v := range present {
		if readOnly[k] {
			continue
		}
		if k == "networkProfile" {
			v = mergeObjects(merged[k], v)
		}
		if k == "kubernetesVersion" && (string(v) == `""` || string(v) == "null") {
			continue
		}
		merged[k] = v
	}
	state := c.Props.Localaks
	data, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	c.Record.Properties = data
	fresh, err := DecodeCluster(c.Record)
	if err != nil {
		return arm.ErrInvalidRequestContent(err.Error())
	}
	fresh.Props.Localaks = state
	*c = *fresh
	return nil
}

// mergeObjects lays JSON object b over a (one level).
func mergeObjects(a, b json.RawMessage) json.RawMessage {
	var ma, mb map[string]json.RawMessage
	if err := json.Unmarshal(a, &ma); err != nil || ma == nil {
		return b // nothing to merge into
	}
	if err := json.Unmarshal(b, &mb); err != nil {
		return b // not an object: the body's value replaces
	}
	for k, v := range mb {
		ma[k] = v
	}
	out, err := json.Marshal(ma)
	if err != nil {
		return b
	}
	return out
}

// overlayMigration tells whether an update moves a cluster to Azure CNI
// Overlay, which AKS allows from kubenet and from Azure CNI on the node
// subnet (az aks update --network-plugin azure --network-plugin-mode
// overlay [--pod-cidr]): the plugin and the pod CIDR may then change.
func overlayMigration(o, n *NetworkProfile) bool {
	if !strings.EqualFold(n.NetworkPluginMode, "overlay") || strings.EqualFold(o.NetworkPluginMode, "overlay") {
		return false
	}
	plugin := strings.ToLower(n.NetworkPlugin)
	switch strings.ToLower(o.NetworkPlugin) {
	case "kubenet":
		return plugin == "azure"
	case "azure":
		return plugin == "" || plugin == "azure"
	}
	return false
}

// checkImmutable refuses changes AKS does not allow after creation.
func checkImmutable(old, now *ClusterProperties) error {
	pairs := []struct {
		name     string
		old, new any
	}{
		{"dnsPrefix", old.DNSPrefix, now.DNSPrefix},
		{"fqdnSubdomain", old.FQDNSubdomain, now.FQDNSubdomain},
		{"nodeResourceGroup", old.NodeResourceGroup, now.NodeResourceGroup},
	}
	if old.NetworkProfile != nil && now.NetworkProfile != nil {
		o, n := old.NetworkProfile, now.NetworkProfile
		if !overlayMigration(o, n) {
			pairs = append(pairs,
				struct {
					name     string
					old, new any
				}{"networkProfile.networkPlugin", o.NetworkPlugin, strings.ToLower(n.NetworkPlugin)},
				struct {
					name     string
					old, new any
				}{"networkProfile.podCidr", o.PodCIDR, n.PodCIDR})
		}
		pairs = append(pairs,
			struct {
				name     string
				old, new any
			}{"networkProfile.serviceCidr", o.ServiceCIDR, n.ServiceCIDR},
			struct {
				name     string
				old, new any
			}{"networkProfile.dnsServiceIP", o.DNSServiceIP, n.DNSServiceIP},
			struct {
				name     string
				old, new any
			}{"networkProfile.loadBalancerSku", o.LoadBalancerSKU, strings.ToLower(n.LoadBalancerSKU)},
			struct {
				name     string
				old, new any
			}{"networkProfile.outboundType", o.OutboundType, n.OutboundType},
		)
	}
	if old.LinuxProfile != nil && now.LinuxProfile != nil {
		pairs = append(pairs, struct {
			name     string
			old, new any
		}{"linuxProfile.adminUsername", old.LinuxProfile.AdminUsername, now.LinuxProfile.AdminUsername})
	}
	for _, p := range pairs {
		if !reflect.DeepEqual(p.old, p.new) && !(p.new == "" || p.new == nil) {
			return Error(http.StatusBadRequest, "PropertyChangeNotAllowed", p.name, "Changing property '%s' is not allowed.", p.name)
		}
	}
	if now.NetworkProfile != nil && old.NetworkProfile != nil {
		// Omitted fields were merged back; empty means "keep".
		if now.NetworkProfile.NetworkPlugin == "" {
			now.NetworkProfile.NetworkPlugin = old.NetworkProfile.NetworkPlugin
		}
		now.NetworkProfile.NetworkPlugin = strings.ToLower(now.NetworkProfile.NetworkPlugin)
		now.NetworkProfile.LoadBalancerSKU = strings.ToLower(now.NetworkProfile.LoadBalancerSKU)
		if now.NetworkProfile.LoadBalancerSKU == "" {
			now.NetworkProfile.LoadBalancerSKU = old.NetworkProfile.LoadBalancerSKU
		}
	}
	return nil
}

// PatchTags applies a managed cluster PATCH, which changes tags only. The
// tags propagate to the node resource group, as AKS does. It returns the
// cluster and pools (for Save and rendering).
func (v *Rules) PatchTags(tx store.Tx, req *arm.Request, id resourceid.ID, tags map[string]string) (*Cluster, []*Pool, error) {
	c, pools, err := Get(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckTerminal(c, pools); err != nil {
		return nil, nil, err
	}
	c.Record.Tags = tags
	arm.Stamp(c.Record, req.Caller, v.now())
	rg, err := tx.Get(resourceid.ResourceGroup(id.SubscriptionID(), c.Props.NodeResourceGroup).String())
	if errors.Is(err, store.ErrNotFound) {
		return c, pools, nil
	} else if err != nil {
		return nil, nil, err
	}
	// The node resource group is AKS's (managedBy the cluster): the
	// platform writes it.
	next := *rg
	next.Tags = nodeRGTags(c)
	if err := resources.SaveGroup(tx, &next, rg, arm.Platform, v.now()); err != nil {
		return nil, nil, err
	}
	return c, pools, nil
}
