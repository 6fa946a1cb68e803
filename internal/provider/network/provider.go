// Package network is the Microsoft.Network resource provider: virtual
// networks and subnets, network security groups, route tables, public IP
// addresses, load balancers, NAT gateways, application security groups and
// the network interfaces of
// scale-set instances. Other providers (compute, AKS) create and read these
// through the same functions the HTTP handlers use, inside their own
// transactions.
package network

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.Network"

// APIVersions are the api-versions of the virtual networks (the data of
// package apiversions); each type is registered with its own.
var APIVersions = apiversions.For(VirtualNetworkType)

// Resource types.
const (
	VirtualNetworkType = "Microsoft.Network/virtualNetworks"
	NSGType            = "Microsoft.Network/networkSecurityGroups"
	RouteTableType     = "Microsoft.Network/routeTables"
	PublicIPType       = "Microsoft.Network/publicIPAddresses"
	LoadBalancerType   = "Microsoft.Network/loadBalancers"
	NATGatewayType     = "Microsoft.Network/natGateways"
	// VMSSNICType is the type of a scale-set instance's network interface,
	// which lives under the instance in the Microsoft.Compute namespace.
	VMSSNICType = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces"
)

// Config configures the provider.
type Config struct {
	Store    store.Store
	Registry *arm.Registry
	Log      *slog.Logger
	// PublicIPPool is where public IP addresses come from.
	PublicIPPool netip.Prefix
	// Engine, when set, makes writes answer as Microsoft.Network's do: as
	// asynchronous operations (here completed at once) with an
	// Azure-AsyncOperation to poll, and serves those operations.
	Engine *arm.Engine
}

// DefaultPublicIPPool is the default public address pool: loopback
// addresses, so that a later data path can bind them on this machine.
var DefaultPublicIPPool = netip.MustParsePrefix("127.224.0.0/16")

// Provider is the Microsoft.Network provider.
type Provider struct {
	store store.Store
	log   *slog.Logger
	pool  netip.Prefix
	now   func() time.Time
	// ops, when set, records writes as completed operations (Config.Engine).
	ops *arm.Engine

	VirtualNetworks *arm.Tracked
	Subnets         *arm.Embedded
	NSGs            *arm.Tracked
	SecurityRules   *arm.Embedded
	RouteTables     *arm.Tracked
	Routes          *arm.Embedded
	PublicIPs       *arm.Tracked
	LoadBalancers   *arm.Tracked
	NATGateways     *arm.Tracked
	// ApplicationSecurityGroups are application security groups.
	ApplicationSecurityGroups *arm.Tracked
	// ApplicationGateways and WAFPolicies are application gateways and their
	// web application firewall policies.
	ApplicationGateways *arm.Tracked
	WAFPolicies         *arm.Tracked
}

// Register creates the provider and registers its types.
func Register(cfg Config) *Provider {
	if !cfg.PublicIPPool.IsValid() {
		cfg.PublicIPPool = DefaultPublicIPPool
	}
	p := &Provider{store: cfg.Store, log: cfg.Log, pool: cfg.PublicIPPool, now: time.Now, ops: cfg.Engine}
	reg := cfg.Registry
	if cfg.Engine != nil {
		cfg.Engine.RegisterEndpoints(reg, Namespace, apiversions.For(VirtualNetworkType))
	}
	p.registerVirtualNetworks(reg)
	p.registerNSGs(reg)
	p.registerRouteTables(reg)
	p.registerPublicIPs(reg)
	p.registerLoadBalancers(reg)
	p.registerNATGateways(reg)
	p.registerApplicationSecurityGroups(reg)
	p.registerNICs(reg)
	p.registerApplicationGateways(reg)
	return p
}

func (p *Provider) tracked(typ string, name func(string) error) *arm.Tracked {
	return &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: typ, APIVersions: apiversions.For(Namespace + "/" + typ), Locations: regions.List()},
		Located:      true, ETag: true, ValidateName: name, Store: p.store, Operations: p.ops,
	}
}

func (p *Provider) embedded(parent *arm.Tracked, typ, field string) *arm.Embedded {
	return &arm.Embedded{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: parent.Type + "/" + typ, APIVersions: apiversions.For(parent.FullType() + "/" + typ), Hidden: true},
		Parent:       parent, Field: field, ChildType: parent.FullType() + "/" + typ, ValidateName: validName,
	}
}

// nameRule is Microsoft.Network's naming rule for most resources: 1–80
// characters, alphanumerics, underscores, periods and hyphens, starting
// with an alphanumeric and ending with an alphanumeric or underscore.
var nameRule = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$`)

func validName(name string) error {
	if !nameRule.MatchString(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"Resource name %s is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.", name)
	}
	return nil
}

// SubResource is a reference to another resource: {"id": "..."}.
type SubResource struct {
	ID string `json:"id"`
}

// Ref builds a reference.
func Ref(id string) *SubResource { return &SubResource{ID: id} }

// decode reads typed properties from a record.
func decode[T any](r *store.Resource) (*T, error) {
	var v T
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &v); err != nil {
			return nil, arm.ErrInvalidRequestContent(fmt.Sprintf("properties: %v", err))
		}
	}
	return &v, nil
}

// decodeStored reads JSON this provider stored (a record's properties, SKU,
// or one child's properties) into v. Nothing stored leaves v as it is: an
// absent field means none. Anything else that does not decode is a broken
// record, not the client's mistake, and the error names it.
func decodeStored(what, id string, raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s of %s: %w", what, id, err)
	}
	return nil
}

// encode writes typed properties into a record, over the keys of its
// properties that v's type does not model (marshalOver).
func encode(r *store.Resource, v any) error {
	raw, err := marshalOver(r.Properties, v)
	if err != nil {
		return err
	}
	r.Properties = raw
	return nil
}

// over is props as rendered: marshalled over the record's properties
// that its type does not model (marshalOver).
func over(r *store.Resource, props any) any {
	raw, err := marshalOver(r.Properties, props)
	if err != nil {
		return props
	}
	return raw
}

// marshalOver marshals v over the keys of orig (what the client sent, or
// what was stored) that v's type does not model (package jsonx): a
// property localaks does not act on is stored and returned as sent, as
// Azure returns it, so clients that read back what they wrote (Terraform)
// see no drift. Keys the type models are v's, or gone when v omits them.
func marshalOver(orig json.RawMessage, v any) (json.RawMessage, error) {
	var extra jsonx.Object
	if len(orig) > 0 && json.Unmarshal(orig, &extra) != nil {
		extra = nil
	}
	return jsonx.Encode(extra, v)
}

// guid keeps an existing resourceGuid or makes one.
func guid(existing string) string {
	if existing != "" {
		return existing
	}
	return uuid.NewString()
}

func badRequest(code, format string, args ...any) error {
	return arm.Errorf(http.StatusBadRequest, code, format, args...)
}

// upsert replaces the child with c's name, or appends c.
func upsert(children []arm.Child, c arm.Child) []arm.Child {
	if i := indexOf(children, c.Name); i >= 0 {
		children[i] = c
		return children
	}
	return append(children, c)
}

func itoa(i int) string { return strconv.Itoa(i) }

// subscriptionOf is the subscription segment of a resource ID.
func subscriptionOf(id string) string {
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return ""
	}
	return parsed.SubscriptionID()
}
