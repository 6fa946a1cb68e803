package aksapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/oidcissuer"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// clusterBody is a managed cluster on the wire.
type clusterBody struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	Location         string            `json:"location"`
	Tags             map[string]string `json:"tags,omitempty"`
	SKU              json.RawMessage   `json:"sku,omitempty"`
	Identity         json.RawMessage   `json:"identity,omitempty"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation,omitempty"`
	Kind             string            `json:"kind,omitempty"`
	Properties       map[string]any    `json:"properties"`
	SystemData       *store.SystemData `json:"systemData,omitempty"`
}

// clusterInput is a managed cluster PUT body.
type clusterInput struct {
	Location         *string           `json:"location"`
	Tags             map[string]string `json:"tags"`
	SKU              json.RawMessage   `json:"sku"`
	Identity         json.RawMessage   `json:"identity"`
	ExtendedLocation json.RawMessage   `json:"extendedLocation"`
	Kind             string            `json:"kind"`
	Properties       json.RawMessage   `json:"properties"`
}

// render shows a cluster as the api-version in the request has it.
func (p *Provider) render(req *arm.Request, c *aks.Cluster, pools []*aks.Pool) (*clusterBody, error) {
	props, err := c.Public()
	if err != nil {
		return nil, err
	}
	var profiles []map[string]any
	for _, pool := range pools {
		pp, err := pool.Public(true)
		if err != nil {
			return nil, err
		}
		profiles = append(profiles, pp)
	}
	if profiles != nil {
		props["agentPoolProfiles"] = profiles
	}
	shapeForVersion(req.APIVersion, props)
	r := c.Record
	return &clusterBody{ID: r.ID, Name: r.Name, Type: "Microsoft.ContainerService/ManagedClusters", Location: r.Location,
		Tags: r.Tags, SKU: r.SKU, Identity: r.Identity, ExtendedLocation: r.ExtendedLocation, Kind: r.Kind, Properties: props}, nil
}

// shapeForVersion adjusts a cluster body for older api-versions: before
// 2023-05-01 the network profile had dockerBridgeCidr (AKS filled in
// 172.17.0.1/16); later versions dropped it.
func shapeForVersion(version string, props map[string]any) {
	np, ok := props["networkProfile"].(map[string]any)
	if !ok {
		return
	}
	if version < "2023-05-01" {
		if _, has := np["dockerBridgeCidr"]; !has {
			np["dockerBridgeCidr"] = "172.17.0.1/16"
		}
	} else {
		delete(np, "dockerBridgeCidr")
	}
}

// loadCluster reads a cluster and its pools, answering 404s as ARM does.
func loadCluster(tx store.Tx, id resourceid.ID) (*aks.Cluster, []*aks.Pool, error) {
	c, pools, err := aks.Load(tx, id.String())
	if errors.Is(err, store.ErrNotFound) {
		if _, err := tx.Get(resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName()).String()); errors.Is(err, store.ErrNotFound) {
			return nil, nil, arm.ErrResourceGroupNotFound(id.ResourceGroupName())
		}
		return nil, nil, notFoundCluster(id.Name(), id.ResourceGroupName())
	}
	return c, pools, err
}

// clusterOf is the cluster ID for a route addressing it or one of its
// children.
func clusterOf(id resourceid.ID) resourceid.ID {
	for !id.IsZero() && !strings.EqualFold(id.Type(), aks.ClusterType) {
		id = id.Parent()
	}
	return id
}

func (p *Provider) getCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body *clusterBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		c, pools, err := loadCluster(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) listClusters(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	scope := req.Route.ID
	q := store.Query{Subscription: scope.SubscriptionID(), Type: aks.ClusterType, ResourceGroup: scope.ResourceGroupName()}
	var out []any
	var next string
	err := p.store.View(ctx, func(tx store.Tx) error {
		if rg := scope.ResourceGroupName(); rg != "" {
			if _, err := tx.Get(scope.String()); errors.Is(err, store.ErrNotFound) {
				return arm.ErrResourceGroupNotFound(rg)
			}
		}
		page, nl, err := arm.ListPage(tx, req, q, nil)
		if err != nil {
			return err
		}
		next = nl
		for _, r := range page {
			c, pools, err := aks.Load(tx, r.ID)
			if err != nil {
				return err
			}
			b, err := p.render(req, c, pools)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []any{}
	}
	return arm.OK(arm.List{Value: out, NextLink: next}), nil
}

// putCluster creates or updates a managed cluster (201/200, long-running).
func (p *Provider) putCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := aks.ValidateClusterName(id.Name()); err != nil {
		return nil, err
	}
	var in clusterInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	var (
		status int
		body   *clusterBody
		op     *store.Operation
	)
	sub := id.SubscriptionID()
	opID := ""
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(id.String())
		if errors.Is(err, store.ErrNotFound) {
			status = http.StatusCreated
			return nil
		}
		status = http.StatusOK
		return err
	})
	if err != nil {
		return nil, err
	}
	kind := kindClusterReconcile
	op, err = p.engine.NewOperation(kind, sub, Namespace, "", id.String(), opInput{Cluster: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	opID = op.ID
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		existing, err := tx.Get(id.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := req.CheckPreconditions(existing); err != nil {
			return err
		}
		var c *aks.Cluster
		var pools []*aks.Pool
		if existing == nil {
			c, pools, err = p.prepareCreate(tx, req, id, &in, opID)
		} else {
			c, pools, err = p.prepareUpdate(tx, req, id, &in, opID)
		}
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		if err := writeAll(tx, c, pools); err != nil {
			return err
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.AsyncOnly(req, op, status, body), nil
}

// writeAll stores a cluster and its pools.
func writeAll(tx store.Tx, c *aks.Cluster, pools []*aks.Pool) error {
	if err := c.Encode(); err != nil {
		return err
	}
	if err := tx.Put(c.Record); err != nil {
		return err
	}
	for _, pool := range pools {
		if err := pool.Encode(); err != nil {
			return err
		}
		if err := tx.Put(pool.Record); err != nil {
			return err
		}
	}
	return nil
}

func decodeClusterInput(id resourceid.ID, in *clusterInput) (*aks.Cluster, []json.RawMessage, error) {
	rec := &store.Resource{ID: id.String(), Type: aks.ClusterType, Name: id.Name(), Tags: in.Tags, SKU: in.SKU, Identity: nullable(in.Identity),
		ExtendedLocation: nullable(in.ExtendedLocation), Kind: in.Kind, Properties: in.Properties}
	c, err := aks.DecodeCluster(rec)
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
func (p *Provider) prepareCreate(tx store.Tx, req *arm.Request, id resourceid.ID, in *clusterInput, opID string) (*aks.Cluster, []*aks.Pool, error) {
	rg := resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName())
	if _, err := tx.Get(rg.String()); errors.Is(err, store.ErrNotFound) {
		return nil, nil, arm.ErrResourceGroupNotFound(id.ResourceGroupName())
	} else if err != nil {
		return nil, nil, err
	}
	if in.Location == nil || strings.TrimSpace(*in.Location) == "" {
		return nil, nil, arm.Errorf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	region, ok := regions.Lookup(*in.Location)
	if !ok {
		return nil, nil, arm.Errorf(http.StatusBadRequest, "NoRegisteredProviderFound",
			"No registered resource provider found for location '%s' and API version '%s' for type 'managedClusters'. The supported api-versions are '%s'. The supported locations are '%s'.",
			*in.Location, req.APIVersion, strings.Join(APIVersions, ", "), strings.Join(locations(), ", "))
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
	p.val.DefaultCluster(c, id.SubscriptionID(), id.ResourceGroupName())
	var pools []*aks.Pool
	for i, raw := range profiles {
		pool, err := aks.DecodePoolJSON(raw)
		if err != nil {
			return nil, nil, arm.ErrInvalidRequestContent(err.Error())
		}
		if pool.Props.Name == "" {
			return nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The agent pool at index %d has no name.", i).WithTarget("agentPoolProfiles")
		}
		pool.Record = &store.Resource{ID: id.String() + "/agentPools/" + pool.Props.Name, Type: aks.PoolType, Name: pool.Props.Name}
		pools = append(pools, pool)
	}
	// Pools default against the cluster's resolved version.
	if v, ok := aks.Versions.Resolve(c.Props.KubernetesVersion); ok {
		c.Props.CurrentKubernetesVersion = v
	}
	for _, pool := range pools {
		p.val.DefaultPool(c, pool, true)
	}
	if err := p.val.ValidateCluster(tx, c, pools); err != nil {
		return nil, nil, err
	}
	for _, pool := range pools {
		if pool.Props.OrchestratorVersion == "" {
			pool.Props.OrchestratorVersion = c.Props.KubernetesVersion
		}
	}
	if err := p.val.ValidateIdentity(tx, c, p.tenantOf(id.SubscriptionID())); err != nil {
		return nil, nil, err
	}
	if err := p.val.ValidateAddons(tx, c, pools); err != nil {
		return nil, nil, err
	}
	if err := p.setIssuer(c, nil, id.SubscriptionID()); err != nil {
		return nil, nil, err
	}
	prefix := c.Props.DNSPrefix
	if prefix == "" {
		prefix = c.Props.FQDNSubdomain
	}
	st := c.Props.Localaks
	st.ID = aks.ClusterID(prefix)
	st.FQDNHash = randomHex(4)
	st.Operation, st.OperationKind = opID, "Creating"
	c.Props.FQDN = aks.FQDN(prefix, st.FQDNHash, c.Record.Location)
	c.Props.AzurePortalFQDN = aks.PortalFQDN(prefix, st.FQDNHash, c.Record.Location)
	c.Props.ResourceUID = randomHex(12)
	c.Props.ProvisioningState = aks.StateCreating
	c.Props.PowerState = &aks.PowerState{Code: "Running"}
	for _, pool := range pools {
		pool.Props.ProvisioningState = aks.StateCreating
		pool.Props.Localaks.Operation, pool.Props.Localaks.OperationKind = opID, "Creating"
	}
	arm.Stamp(c.Record, req.Caller, p.now())
	return c, pools, nil
}

func normalizeSKU(c *aks.Cluster) error {
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
		e := arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The managed cluster SKU name '%s' is not supported; use Base or Automatic.", sku.Name).WithTarget("sku.name")
		e.Native = true
		return e
	}
	switch strings.ToLower(sku.Tier) {
	case "", "free":
		sku.Tier = "Free"
	case "standard", "paid":
		sku.Tier = "Standard"
	case "premium":
		sku.Tier = "Premium"
	default:
		e := arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The managed cluster SKU tier '%s' is not supported; use Free, Standard or Premium.", sku.Tier).WithTarget("sku.tier")
		e.Native = true
		return e
	}
	c.Record.SKU, _ = json.Marshal(sku)
	return nil
}

// prepareUpdate applies a PUT to an existing cluster. Properties the body
// leaves out keep their values, as AKS treats them; immutable ones may not
// change; pools may change (count, version, labels...) but not be added.
func (p *Provider) prepareUpdate(tx store.Tx, req *arm.Request, id resourceid.ID, in *clusterInput, opID string) (*aks.Cluster, []*aks.Pool, error) {
	c, pools, err := loadCluster(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := aks.CheckTerminal(c, pools); err != nil {
		return nil, nil, err
	}
	if c.Props.PowerState != nil && c.Props.PowerState.Code == "Stopped" {
		return nil, nil, conflict("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Stopped), updating cannot be performed. Please start the cluster first: https://aka.ms/aks/start",
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
	incoming, profiles, err := decodeClusterInput(id, in)
	if err != nil {
		return nil, nil, err
	}
	old := c.Props
	if err := mergeClusterSpec(c, incoming, in.Properties); err != nil {
		return nil, nil, err
	}
	c.Record.Tags = in.Tags
	if len(in.SKU) > 0 {
		c.Record.SKU = in.SKU
		if err := normalizeSKU(c); err != nil {
			return nil, nil, err
		}
	}
	if len(nullable(in.Identity)) > 0 {
		c.Record.Identity = nullable(in.Identity)
		if err := p.val.ValidateIdentity(tx, c, p.tenantOf(id.SubscriptionID())); err != nil {
			return nil, nil, err
		}
	}
	state := aks.StateUpdating
	if c.Props.KubernetesVersion != old.KubernetesVersion {
		resolved, ok := aks.Versions.Resolve(c.Props.KubernetesVersion)
		if !ok {
			return nil, nil, aksNative(http.StatusBadRequest, "K8sVersionNotSupported", "kubernetesVersion",
				"Managed cluster %s has invalid version %s. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list",
				id.Name(), c.Props.KubernetesVersion)
		}
		if resolved != old.CurrentKubernetesVersion {
			if aks.Compare(resolved, old.CurrentKubernetesVersion) < 0 {
				return nil, nil, aksNative(http.StatusBadRequest, "NotAllowedDowngrade", "kubernetesVersion",
					"Downgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s.", old.CurrentKubernetesVersion, resolved,
					strings.Join(aks.Versions.Upgrades(old.CurrentKubernetesVersion), ", "))
			}
			if !contains(aks.Versions.Upgrades(old.CurrentKubernetesVersion), resolved) {
				return nil, nil, aksNative(http.StatusBadRequest, "OperationNotAllowed", "kubernetesVersion",
					"Upgrading Kubernetes version %s to %s is not allowed. Available upgrades: %s. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
					old.CurrentKubernetesVersion, resolved, strings.Join(aks.Versions.Upgrades(old.CurrentKubernetesVersion), ", "))
			}
			c.Props.CurrentKubernetesVersion = resolved
			state = aks.StateUpgrading
		}
	}
	// Pools: the body's agentPoolProfiles may change existing pools only.
	byName := map[string]*aks.Pool{}
	counts := map[string]int{}
	for _, pool := range pools {
		byName[pool.Record.Name] = pool
		counts[pool.Record.Name] = max(*pool.Props.Count, intValue(pool.Props.MaxCount))
	}
	scaled := false
	for _, raw := range profiles {
		want, err := aks.DecodePoolJSON(raw)
		if err != nil {
			return nil, nil, arm.ErrInvalidRequestContent(err.Error())
		}
		cur, ok := byName[want.Props.Name]
		if !ok {
			return nil, nil, aksNative(http.StatusBadRequest, "BadRequest", "",
				"A new agent pool was introduced. Adding agent pools to an existing cluster is not allowed through managed cluster operations. For agent pool specific change, please use per agent pool operations: https://aka.ms/agent-pool-rest-api")
		}
		changed, err := p.applyPoolChange(c, cur, want, raw, pools)
		if err != nil {
			return nil, nil, err
		}
		if changed == aks.StateScaling {
			scaled = true
		}
		if changed != "" {
			cur.Props.ProvisioningState = changed
			cur.Props.Localaks.Operation, cur.Props.Localaks.OperationKind = opID, changed
		}
	}
	if state == aks.StateUpgrading {
		// az aks upgrade moves the pools along in the same PUT; pools not
		// named follow the control plane only if they were at its version.
		for _, pool := range pools {
			if pool.Props.CurrentOrchestratorVersion == old.CurrentKubernetesVersion && pool.Props.ProvisioningState == aks.StateSucceeded {
				pool.Props.OrchestratorVersion = c.Props.KubernetesVersion
				pool.Props.CurrentOrchestratorVersion = c.Props.CurrentKubernetesVersion
				pool.Props.ProvisioningState = aks.StateUpgrading
				pool.Props.Localaks.Operation, pool.Props.Localaks.OperationKind = opID, aks.StateUpgrading
			}
		}
	} else if scaled {
		state = aks.StateScaling
	}
	if err := checkImmutable(&old, &c.Props); err != nil {
		return nil, nil, err
	}
	if err := p.setIssuer(c, old.OIDCIssuerProfile, id.SubscriptionID()); err != nil {
		return nil, nil, err
	}
	if err := p.val.ValidateAddons(tx, c, pools); err != nil {
		return nil, nil, err
	}
	if err := p.val.CheckGrowth(tx, c, pools, counts); err != nil {
		return nil, nil, err
	}
	c.Props.ProvisioningState = state
	c.Props.Localaks.Operation, c.Props.Localaks.OperationKind = opID, state
	arm.Stamp(c.Record, req.Caller, p.now())
	return c, pools, nil
}

// setIssuer gives a cluster whose OIDC issuer is on its issuer URL: a new
// one when it is turned on, the same one for its life after that. AKS does
// not let the issuer be turned off again; a body without the profile keeps
// it as it is.
func (p *Provider) setIssuer(c *aks.Cluster, old *aks.OIDCIssuerProfile, sub string) error {
	wasOn := old != nil && old.Enabled != nil && *old.Enabled
	cur := c.Props.OIDCIssuerProfile
	if cur == nil || cur.Enabled == nil {
		if old == nil {
			off := false
			old = &aks.OIDCIssuerProfile{Enabled: &off}
		}
		cur = &aks.OIDCIssuerProfile{Enabled: old.Enabled}
		c.Props.OIDCIssuerProfile = cur
	}
	switch {
	case wasOn && !*cur.Enabled:
		// AKS documents the rule, not its error code or text: chosen here.
		return aksNative(http.StatusBadRequest, "BadRequest", "oidcIssuerProfile.enabled",
			"The OIDC issuer cannot be disabled once it has been enabled.")
	case wasOn:
		cur.IssuerURL = old.IssuerURL
	case *cur.Enabled:
		cur.IssuerURL = oidcissuer.URL(p.issuer, c.Record.Location, p.tenantOf(sub), uuid.NewString())
	default:
		cur.IssuerURL = ""
	}
	// Workload identity federates the issuer's tokens: AKS requires the
	// issuer (its code and text are not documented: chosen here).
	if c.WorkloadIdentityEnabled() && !*cur.Enabled {
		return aksNative(http.StatusBadRequest, "BadRequest", "securityProfile.workloadIdentity.enabled",
			"Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).")
	}
	return nil
}

func aksNative(status int, code, target, format string, args ...any) *arm.Error {
	e := arm.Errorf(status, code, format, args...).WithTarget(target)
	e.Native = true
	return e
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
func mergeClusterSpec(c, incoming *aks.Cluster, raw json.RawMessage) error {
	var present jsonx.Object
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &present); err != nil {
			return arm.ErrInvalidRequestContent(err.Error())
		}
	}
	cur, err := c.Public()
	if err != nil {
		return err
	}
	curRaw, _ := json.Marshal(cur)
	var merged jsonx.Object
	json.Unmarshal(curRaw, &merged) //nolint:errcheck // just marshalled
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
	data, _ := json.Marshal(merged)
	c.Record.Properties = data
	fresh, err := aks.DecodeCluster(c.Record)
	if err != nil {
		return arm.ErrInvalidRequestContent(err.Error())
	}
	fresh.Props.Localaks = state
	*c = *fresh
	_ = incoming
	return nil
}

// mergeObjects lays JSON object b over a (one level).
func mergeObjects(a, b json.RawMessage) json.RawMessage {
	var ma, mb map[string]json.RawMessage
	json.Unmarshal(a, &ma) //nolint:errcheck // best effort merge
	if err := json.Unmarshal(b, &mb); err != nil || ma == nil {
		return b
	}
	for k, v := range mb {
		ma[k] = v
	}
	out, _ := json.Marshal(ma)
	return out
}

// checkImmutable refuses changes AKS does not allow after creation.
func checkImmutable(old, now *aks.ClusterProperties) error {
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
		pairs = append(pairs,
			struct {
				name     string
				old, new any
			}{"networkProfile.networkPlugin", o.NetworkPlugin, strings.ToLower(n.NetworkPlugin)},
			struct {
				name     string
				old, new any
			}{"networkProfile.podCidr", o.PodCIDR, n.PodCIDR},
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
			return aksNative(http.StatusBadRequest, "PropertyChangeNotAllowed", p.name, "Changing property '%s' is not allowed.", p.name)
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

func (p *Provider) patchCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if err := arm.ValidateTags(in.Tags); err != nil {
		return nil, err
	}
	var body *clusterBody
	err := p.store.Update(ctx, func(tx store.Tx) error {
		c, pools, err := loadCluster(tx, req.Route.ID)
		if err != nil {
			return err
		}
		if err := aks.CheckTerminal(c, pools); err != nil {
			return err
		}
		c.Record.Tags = in.Tags
		arm.Stamp(c.Record, req.Caller, p.now())
		if err := writeAll(tx, c, nil); err != nil {
			return err
		}
		// Tags propagate to the node resource group.
		if rg, err := tx.Get(resourceid.ResourceGroup(req.Subscription(), c.Props.NodeResourceGroup).String()); err == nil {
			tags := map[string]string{"aks-managed-cluster-name": c.Record.Name, "aks-managed-cluster-rg": req.Route.ID.ResourceGroupName()}
			for k, v := range in.Tags {
				tags[k] = v
			}
			rg.Tags = tags
			if err := tx.Put(rg); err != nil {
				return err
			}
		}
		body, err = p.render(req, c, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

// deleteCluster deletes a cluster and its node resource group (202,
// long-running; 204 when it does not exist). It may interrupt another
// operation, as AKS lets a delete preempt.
func (p *Provider) deleteCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	var missing bool
	var c *aks.Cluster
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		c, _, err = aks.Load(tx, id.String())
		if errors.Is(err, store.ErrNotFound) {
			missing = true
			if _, err := tx.Get(resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName()).String()); errors.Is(err, store.ErrNotFound) {
				return arm.ErrResourceGroupNotFound(id.ResourceGroupName())
			}
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if missing {
		return arm.NoContent(), nil
	}
	if running := c.Props.Localaks.Operation; running != "" && c.Props.Localaks.OperationKind != aks.StateDeleting {
		if err := p.engine.Cancel(ctx, running); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, arm.ErrInternal(err)
		}
	}
	op, err := p.engine.NewOperation(kindClusterDelete, id.SubscriptionID(), Namespace, c.Record.Location, id.String(), opInput{Cluster: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, err := loadCluster(tx, id)
		if err != nil {
			return err
		}
		if err := req.CheckPreconditions(c.Record); err != nil {
			return err
		}
		c.Props.ProvisioningState = aks.StateDeleting
		c.Props.Localaks.Operation, c.Props.Localaks.OperationKind = op.ID, aks.StateDeleting
		for _, pool := range pools {
			pool.Props.ProvisioningState = aks.StateDeleting
		}
		return writeAll(tx, c, pools)
	})
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}
