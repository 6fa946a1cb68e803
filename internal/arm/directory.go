package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// TenantProperties is what the store keeps for a tenant (/tenants/{id}).
type TenantProperties struct {
	DisplayName   string   `json:"displayName"`
	DefaultDomain string   `json:"defaultDomain"`
	Domains       []string `json:"domains"`
}

// SubscriptionProperties is what the store keeps for a subscription
// (/subscriptions/{id}).
type SubscriptionProperties struct {
	DisplayName string `json:"displayName"`
	State       string `json:"state"`
	TenantID    string `json:"tenantId"`
}

// Registration states of a resource provider in a subscription.
const (
	Registered    = "Registered"
	NotRegistered = "NotRegistered"
	Registering   = "Registering"
	Unregistering = "Unregistering"
	// Unregistered is the state after an explicit unregister (NotRegistered
	// is for namespaces never registered), as az waits for it.
	Unregistered = "Unregistered"
)

// RegistrationProperties is what the store keeps for a provider
// registration (/subscriptions/{id}/providers/{namespace}). Namespaces with no
// record are Registered: localaks starts with every provider it serves
// registered, so tools work without a registration step.
type RegistrationProperties struct {
	RegistrationState string `json:"registrationState"`
}

// Directory answers who the tenants and subscriptions are and which
// providers a subscription has registered. It is backed by the store.
type Directory struct {
	store store.Store
}

// NewDirectory returns a Directory over st.
func NewDirectory(st store.Store) *Directory { return &Directory{store: st} }

// Identity is the default tenant and subscription of an instance.
type Identity struct {
	TenantID       string
	SubscriptionID string
	TenantDomain   string
}

const (
	metaDefaultTenant       = "default_tenant"
	metaDefaultSubscription = "default_subscription"
	// DefaultDomain is the verified domain of the default tenant.
	DefaultDomain = "localaks.onmicrosoft.com"
)

// Bootstrap creates the default tenant and subscription on first start (with
// the given IDs, or random ones) and returns them. Later starts return the
// stored ones; wanting different IDs then is an error rather than a silent
// no-op.
func (d *Directory) Bootstrap(ctx context.Context, tenantID, subscriptionID string) (Identity, error) {
	var id Identity
	err := d.store.Update(ctx, func(tx store.Tx) error {
		tid, err := tx.GetMeta(metaDefaultTenant)
		if err == nil {
			sid, err := tx.GetMeta(metaDefaultSubscription)
			if err != nil {
				return fmt.Errorf("default subscription: %w", err)
			}
			if (tenantID != "" && !strings.EqualFold(tenantID, tid)) || (subscriptionID != "" && !strings.EqualFold(subscriptionID, sid)) {
				return fmt.Errorf("this data directory already has tenant %s and subscription %s; IDs can only be chosen when a data directory is first used", tid, sid)
			}
			id = Identity{TenantID: tid, SubscriptionID: sid, TenantDomain: DefaultDomain}
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if tenantID == "" {
			tenantID = uuid.NewString()
		}
		if subscriptionID == "" {
			subscriptionID = uuid.NewString()
		}
		for _, v := range []string{tenantID, subscriptionID} {
			if _, err := uuid.Parse(v); err != nil {
				return fmt.Errorf("%q is not a GUID", v)
			}
		}
		tenantID, subscriptionID = strings.ToLower(tenantID), strings.ToLower(subscriptionID)
		now := time.Now().UTC()
		tprops, _ := json.Marshal(TenantProperties{DisplayName: "localaks", DefaultDomain: DefaultDomain, Domains: []string{DefaultDomain}})
		if err := tx.Put(&store.Resource{ID: "/tenants/" + tenantID, Type: "Microsoft.Resources/tenants", Name: tenantID,
			Properties: tprops, SystemData: store.SystemData{CreatedAt: now}}); err != nil {
			return err
		}
		sprops, _ := json.Marshal(SubscriptionProperties{DisplayName: "localaks", State: "Enabled", TenantID: tenantID})
		if err := tx.Put(&store.Resource{ID: resourceid.Subscription(subscriptionID).String(), Type: "Microsoft.Resources/subscriptions",
			Name: subscriptionID, Properties: sprops, SystemData: store.SystemData{CreatedAt: now}}); err != nil {
			return err
		}
		if err := tx.PutMeta(metaDefaultTenant, tenantID); err != nil {
			return err
		}
		id = Identity{TenantID: tenantID, SubscriptionID: subscriptionID, TenantDomain: DefaultDomain}
		return tx.PutMeta(metaDefaultSubscription, subscriptionID)
	})
	return id, err
}

// Tenant resolves an authority tenant segment (ID, domain, "common",
// "organizations") to a tenant ID; it implements entra.Directory.
func (d *Directory) Tenant(ctx context.Context, name string) (string, bool) {
	var out string
	err := d.store.View(ctx, func(tx store.Tx) error {
		if strings.EqualFold(name, "common") || strings.EqualFold(name, "organizations") {
			tid, err := tx.GetMeta(metaDefaultTenant)
			out = tid
			return err
		}
		tenants, err := tx.List(store.Query{Type: "Microsoft.Resources/tenants"})
		if err != nil {
			return err
		}
		for _, t := range tenants {
			var p TenantProperties
			if err := json.Unmarshal(t.Properties, &p); err != nil {
				return err
			}
			if strings.EqualFold(t.Name, name) || containsFold(p.Domains, name) {
				out = t.Name
				return nil
			}
		}
		return store.ErrNotFound
	})
	return out, err == nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Subscription returns a subscription's properties, or ARM's error for a
// malformed or unknown subscription ID.
func (d *Directory) Subscription(ctx context.Context, id string) (*SubscriptionProperties, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, Errorf(http.StatusBadRequest, "InvalidSubscriptionId", "The provided subscription identifier '%s' is malformed or invalid.", id)
	}
	var props SubscriptionProperties
	err := d.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(resourceid.Subscription(id).String())
		if err != nil {
			return err
		}
		return json.Unmarshal(r.Properties, &props)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
	}
	if err != nil {
		return nil, ErrInternal(err)
	}
	return &props, nil
}

// RegistrationID is the ID of a provider registration record.
func RegistrationID(subscription, namespace string) string {
	return resourceid.Subscription(subscription).String() + "/providers/" + namespace
}

// RegistrationState returns a namespace's registration state in a
// subscription, read in tx.
func RegistrationState(tx store.Tx, subscription, namespace string) (string, error) {
	r, err := tx.Get(RegistrationID(subscription, namespace))
	if errors.Is(err, store.ErrNotFound) {
		return Registered, nil
	}
	if err != nil {
		return "", err
	}
	var p RegistrationProperties
	if err := json.Unmarshal(r.Properties, &p); err != nil {
		return "", err
	}
	return p.RegistrationState, nil
}
