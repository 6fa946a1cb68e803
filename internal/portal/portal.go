// Package portal is localaks's web view: resource groups and their
// resources as the Azure portal lists them, and for every managed cluster a
// picture of its node resource group — public IPs, load balancer frontends
// and rules, application gateways, node pools and nodes, subnets — so that
// one can see how AKS maps onto Azure resources.
//
// It is read-only and served without sign-in under /portal/ on serve's
// loopback listener (the data it shows is the data directory's, readable by
// the same local user anyway).
package portal

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Prefix is where the portal is served.
const Prefix = "/portal/"

const (
	groupType      = "Microsoft.Resources/resourceGroups"
	deploymentType = "Microsoft.Resources/deployments"
)

// Config configures the portal.
type Config struct {
	Store store.Store
	// DataPath, when set, is what a running cluster's (by its resource
	// UID) load balancers and gateways have carried.
	DataPath func(uid string) *clusterspec.DataPath
	// ARM reads a resource as ARM answers it (resource pages' JSON view).
	ARM ARMGet
	// Kube, when set, reaches a running cluster's API server: the picture
	// then names the pods, Services and Ingresses behind its boxes.
	Kube KubeConfig
	Log  *slog.Logger
}

// Portal serves the web view.
type Portal struct {
	cfg  Config
	kube *kubeViews
}

// New returns the portal.
func New(cfg Config) *Portal {
	p := &Portal{cfg: cfg}
	if cfg.Kube != nil {
		p.kube = &kubeViews{connect: cfg.Kube, views: map[string]*kubeView{}}
	}
	return p
}

type group struct {
	ID, Name, Subscription, Location, ManagedBy string
	Resources                                   []resource
	// Deployments are the group's template deployments (not resources).
	Deployments []resource
}

type resource struct {
	ID, Name, Type, Location, State string
	Cluster                         bool
}

// ServeHTTP serves /portal/, /portal/cluster?id=, /portal/events?id= and
// /portal/topology.svg?id=.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the portal is read-only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch strings.TrimPrefix(r.URL.Path, Prefix) {
	case "":
		p.index(w, r)
	case "cluster":
		p.cluster(w, r)
	case "events":
		p.events(w, r)
	case "resource":
		p.resourcePage(w, r)
	case "topology.svg":
		g, ok := p.topology(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write(g.SVG()) //nolint:errcheck // client gone
	default:
		p.notFound(w, r.URL.Path)
	}
}

func (p *Portal) index(w http.ResponseWriter, r *http.Request) {
	var groups []group
	err := p.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		rgs, err := tx.List(store.Query{Type: groupType})
		if err != nil {
			return err
		}
		for _, rg := range rgs {
			id, err := resourceid.Parse(rg.ID)
			if err != nil {
				continue
			}
			g := group{ID: rg.ID, Name: rg.Name, Subscription: id.SubscriptionID(), Location: rg.Location, ManagedBy: rg.ManagedBy}
			recs, err := tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: rg.Name, TopLevel: true})
			if err != nil {
				return err
			}
			for _, rec := range recs {
				g.Resources = append(g.Resources, resource{ID: rec.ID, Name: rec.Name, Type: rec.Type, Location: rec.Location,
					State: provisioningState(rec), Cluster: strings.EqualFold(rec.Type, aks.ClusterType)})
			}
			deps, err := tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: rg.Name, Type: deploymentType})
			if err != nil {
				return err
			}
			for _, rec := range deps {
				g.Deployments = append(g.Deployments, resource{ID: rec.ID, Name: rec.Name, Type: rec.Type, State: provisioningState(rec)})
			}
			groups = append(groups, g)
		}
		return nil
	})
	if err != nil {
		p.fail(w, err)
		return
	}
	sort.Slice(groups, func(i, j int) bool { return strings.ToLower(groups[i].Name) < strings.ToLower(groups[j].Name) })
	p.render(w, "index", map[string]any{"Groups": groups})
}

func (p *Portal) cluster(w http.ResponseWriter, r *http.Request) {
	g, ok := p.topology(w, r)
	if !ok {
		return
	}
	c := g.Cluster
	np := c.Props.NetworkProfile
	model := ""
	if np != nil {
		model = np.NetworkPlugin
		if np.NetworkPluginMode != "" {
			model += " (" + np.NetworkPluginMode + ")"
		}
	}
	p.render(w, "cluster", map[string]any{
		"Name": c.Record.Name, "ID": c.Record.ID, "Location": c.Record.Location, "Version": c.Props.CurrentKubernetesVersion,
		"State": c.Props.ProvisioningState, "NodeRG": c.Props.NodeResourceGroup, "FQDN": c.Props.FQDN, "Network": model,
		"SVG":  template.HTML(g.SVG()), //nolint:gosec // built by SVG with every text escaped
		"Live": g.Live, "Follow": p.follows(), "Power": power(c), "Kube": p.kube != nil,
	})
}

// topology builds the graph of the cluster named by ?id=, with what its
// data path has carried and its Kubernetes objects, answering 404 when
// there is none.
func (p *Portal) topology(w http.ResponseWriter, r *http.Request) (*Graph, bool) {
	id := r.URL.Query().Get("id")
	g, view, err := p.graph(r.Context(), id)
	if view != nil {
		view.release()
	}
	if errors.Is(err, store.ErrNotFound) || (err != nil && id == "") {
		http.Error(w, "no managed cluster "+id, http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		p.fail(w, err)
		return nil, false
	}
	return g, true
}

// graph builds a cluster's graph with what its data path has carried and,
// when its control plane runs, its Kubernetes objects: the view they were
// read from is returned held (nil if none), for the caller to release.
func (p *Portal) graph(ctx context.Context, id string) (*Graph, *kubeView, error) {
	var g *Graph
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = Topology(tx, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if p.cfg.DataPath != nil {
		if dp := p.cfg.DataPath(g.Cluster.Props.ResourceUID); dp != nil {
			g.Annotate(dp)
		}
	}
	if p.kube == nil {
		return g, nil, nil
	}
	view, status, retry := p.kube.acquire(g.Cluster)
	if view == nil {
		g.Bridge(kubeObjects{Status: status})
		g.kubeRetry = retry
		return g, nil, nil
	}
	// The change channel is taken before reading, so no change between
	// the read and the wait is missed.
	g.kubeChanged = view.changes()
	g.Bridge(view.objects(ctx, kubeWait))
	return g, view, nil
}

// power is a cluster's power state ("Running", "Stopped").
func power(c *aks.Cluster) string {
	if c.Props.PowerState == nil {
		return ""
	}
	return c.Props.PowerState.Code
}

func provisioningState(r *store.Resource) string {
	var props struct {
		ProvisioningState string `json:"provisioningState"`
	}
	if jsonUnmarshal(r.Properties, &props) != nil {
		return ""
	}
	return props.ProvisioningState
}

func (p *Portal) fail(w http.ResponseWriter, err error) {
	if p.cfg.Log != nil {
		p.cfg.Log.Error("portal", "err", err)
	}
	http.Error(w, "the portal could not read the store", http.StatusInternalServerError)
}

func (p *Portal) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil && p.cfg.Log != nil {
		p.cfg.Log.Error("portal page", "page", name, "err", err)
	}
}
