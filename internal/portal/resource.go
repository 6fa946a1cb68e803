package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// ARMGet reads a resource as ARM answers a GET of it (at its type's newest
// stable api-version): the api-version, the status and the body.
type ARMGet func(ctx context.Context, id string) (apiVersion string, status int, body []byte)

// resourcePage is what a resource's page shows.
type resourcePage struct {
	ID, Name, Type, Location, Group, GroupID, ManagedBy, State string
	Tags                                                       [][2]string
	JSON                                                       string
	JSONStatus                                                 int
	APIVersion                                                 string
	Children, LinksTo, LinkedFrom                              []resource
	Activity                                                   []activity
	Cluster                                                    bool
}

// activity is one operation on a resource, as its activity log lists it.
type activity struct {
	Kind, Status, Started, Duration, Error string
}

// idInJSON finds resource IDs in a document.
var idInJSON = regexp.MustCompile(`"(/subscriptions/[^"]+)"`)

// resourcePageOf reads a resource's page: the record, what ARM answers for
// it, its tags, the resources it names and that name it, its children,
// and the operations on it. ok is false when there is no such resource.
func (p *Portal) resourcePageOf(ctx context.Context, id string) (*resourcePage, bool, error) {
	rid, err := resourceid.Parse(id)
	if err != nil || rid.SubscriptionID() == "" {
		return nil, false, nil
	}
	pg := &resourcePage{ID: id}
	var raw []byte
	err = p.cfg.Store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(id)
		if err != nil {
			return err
		}
		pg.ID, pg.Name, pg.Type, pg.Location, pg.ManagedBy, pg.State = r.ID, r.Name, r.Type, r.Location, r.ManagedBy, provisioningState(r)
		pg.Cluster = strings.EqualFold(r.Type, "Microsoft.ContainerService/managedClusters")
		if rg := rid.ResourceGroupName(); rg != "" && !strings.EqualFold(r.Type, groupType) {
			pg.Group, pg.GroupID = rg, resourceid.ResourceGroup(rid.SubscriptionID(), rg).String()
		}
		for k, v := range r.Tags {
			pg.Tags = append(pg.Tags, [2]string{k, v})
		}
		sort.Slice(pg.Tags, func(i, j int) bool { return pg.Tags[i][0] < pg.Tags[j][0] })
		raw, _ = json.Marshal(r)
		kids, err := tx.List(store.Query{Parent: r.ID})
		if err != nil {
			return err
		}
		for _, k := range kids {
			pg.Children = append(pg.Children, resource{ID: k.ID, Name: k.Name, Type: k.Type, State: provisioningState(k)})
		}
		// What it names, and what names it, in its subscription.
		named := map[string]bool{}
		for _, m := range idInJSON.FindAllSubmatch(raw, -1) {
			named[strings.ToLower(string(m[1]))] = true
		}
		delete(named, strings.ToLower(r.ID))
		all, err := tx.List(store.Query{Subscription: rid.SubscriptionID()})
		if err != nil {
			return err
		}
		lower := []byte(strings.ToLower(`"` + r.ID + `"`))
		for _, o := range all {
			if strings.EqualFold(o.ID, r.ID) {
				continue
			}
			if named[strings.ToLower(o.ID)] {
				pg.LinksTo = append(pg.LinksTo, resource{ID: o.ID, Name: o.Name, Type: o.Type})
			}
			if doc, err := json.Marshal(o); err == nil && bytes.Contains(bytes.ToLower(doc), lower) {
				pg.LinkedFrom = append(pg.LinkedFrom, resource{ID: o.ID, Name: o.Name, Type: o.Type})
			}
		}
		ops, err := tx.ListOperations("")
		if err != nil {
			return err
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i].StartTime.After(ops[j].StartTime) })
		for _, op := range ops {
			if !strings.EqualFold(op.ResourceID, r.ID) {
				continue
			}
			a := activity{Kind: op.Kind, Status: op.Status, Started: op.StartTime.UTC().Format(time.RFC3339)}
			if !op.EndTime.IsZero() {
				a.Duration = op.EndTime.Sub(op.StartTime).Round(time.Millisecond).String()
			}
			if op.Error != nil {
				a.Error = op.Error.Code + ": " + op.Error.Message
			}
			pg.Activity = append(pg.Activity, a)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if p.cfg.ARM != nil {
		version, status, body := p.cfg.ARM(ctx, pg.ID)
		var v any
		if json.Unmarshal(body, &v) == nil {
			pretty, _ := json.MarshalIndent(v, "", "  ")
			pg.JSON, pg.JSONStatus, pg.APIVersion = string(pretty), status, version
		}
	}
	return pg, true, nil
}

func (p *Portal) resourcePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	pg, ok, err := p.resourcePageOf(r.Context(), id)
	if err != nil {
		p.fail(w, err)
		return
	}
	if !ok {
		p.notFound(w, id)
		return
	}
	p.render(w, "resource", pg)
}

// notFound is the portal's 404 page.
func (p *Portal) notFound(w http.ResponseWriter, id string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if err := pages.ExecuteTemplate(w, "notfound", id); err != nil && p.cfg.Log != nil {
		p.cfg.Log.Error("portal page", "page", "notfound", "err", err)
	}
}

// resourceURL is a resource's portal page.
func resourceURL(id string) template.URL {
	return template.URL("resource?id=" + url.QueryEscape(id)) //nolint:gosec // the ID is query-escaped
}
