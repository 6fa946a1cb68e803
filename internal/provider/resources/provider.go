// Package resources is the Microsoft.Resources provider: tenants,
// subscriptions, locations, resource-provider registrations, resource
// groups, the generic resource listings, tags and template export.
package resources

import (
	"context"
	"log/slog"
	"time"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// APIVersions are the api-versions of Microsoft.Resources, newest first
// (package apiversions): every version ARM accepts for resource groups,
// so old clients work too.
var APIVersions = apiversions.For("Microsoft.Resources/resourceGroups")

// versionsOf is typ's api-versions: its own entry in package apiversions,
// else the namespace's.
func versionsOf(typ string) []string {
	if apiversions.Has(Namespace + "/" + typ) {
		return apiversions.For(Namespace + "/" + typ)
	}
	return APIVersions
}

// Namespace is this provider's namespace.
const Namespace = "Microsoft.Resources"

// Provider serves Microsoft.Resources.
type Provider struct {
	store   store.Store
	reg     *arm.Registry
	engine  *arm.Engine
	dir     *arm.Directory
	log     *slog.Logger
	now     func() time.Time
	self    *Self
	reaches Reaches
}

// Reaches tells whether a caller has any access in a subscription: ARM
// lists only those (nil: every subscription of the caller's tenant).
type Reaches func(ctx context.Context, caller arm.Caller, subscriptionID string) (bool, error)

// SetReaches sets the subscription list's access check (set once the
// authorization provider exists).
func (p *Provider) SetReaches(r Reaches) { p.reaches = r }

// SetSelf gives deployments their way to the ARM API (set once serve
// listens).
func (p *Provider) SetSelf(s *Self) { p.self = s }

// Config wires a Provider.
type Config struct {
	Store     store.Store
	Registry  *arm.Registry
	Engine    *arm.Engine
	Directory *arm.Directory
	Log       *slog.Logger
}

// Register creates the provider and registers its types and operation
// kinds.
func Register(cfg Config) *Provider {
	p := &Provider{store: cfg.Store, reg: cfg.Registry, engine: cfg.Engine, dir: cfg.Directory, log: cfg.Log, now: time.Now}
	builtin := func(typ string) *arm.ResourceType {
		return &arm.ResourceType{Namespace: Namespace, Type: typ, APIVersions: versionsOf(typ), Builtin: true}
	}
	reg := cfg.Registry

	t := builtin("tenants")
	t.List = p.listTenants
	reg.Register(t)

	t = builtin("subscriptions")
	t.List, t.Get = p.listSubscriptions, p.getSubscription
	reg.Register(t)

	t = builtin("subscriptions/locations")
	t.List = p.listLocations
	reg.Register(t)

	t = builtin("providers")
	t.List, t.Get = p.listProviders, p.getProvider
	reg.Register(t)

	t = builtin("subscriptions/providers")
	t.List, t.Get = p.listProviders, p.getProvider
	t.Actions = map[string]arm.HandlerFunc{"register": p.register, "unregister": p.unregister}
	reg.Register(t)

	t = builtin("subscriptions/resourceGroups")
	t.List, t.Get, t.Head, t.Put, t.Patch, t.Delete = p.listGroups, p.getGroup, p.headGroup, p.putGroup, p.patchGroup, p.deleteGroup
	t.Actions = map[string]arm.HandlerFunc{"exportTemplate": p.exportTemplate}
	reg.Register(t)

	t = builtin("subscriptions/resources")
	t.List = p.listResources
	reg.Register(t)

	t = builtin("subscriptions/resourceGroups/resources")
	t.List = p.listResources
	reg.Register(t)

	t = builtin("subscriptions/tagNames")
	t.List = p.listTagNames
	reg.Register(t)

	t = builtin("tags")
	t.Get, t.Put, t.Patch, t.Delete = p.getTags, p.putTags, p.patchTags, p.deleteTags
	reg.Register(t)

	p.registerDeployments(reg)
	cfg.Engine.RegisterEndpoints(reg, Namespace, APIVersions)
	cfg.Engine.RegisterKind(&arm.OperationKind{Name: kindDeleteGroup, Run: p.runDeleteGroup, Finish: p.finishDeleteGroup})
	cfg.Engine.RegisterKind(&arm.OperationKind{Name: kindRegister, Run: noWork, Finish: p.finishRegistration(arm.Registered)})
	cfg.Engine.RegisterKind(&arm.OperationKind{Name: kindUnregister, Run: noWork, Finish: p.finishRegistration(arm.Unregistered)})
	return p
}

func noWork(context.Context, *store.Operation) (*arm.Outcome, error) { return nil, nil }

// groupOf is the resource group name in a resource ID.
func groupOf(id string) string {
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return ""
	}
	return parsed.ResourceGroupName()
}
