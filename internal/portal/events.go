package portal

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"

	"github.com/localaks/localaks/internal/store"
)

// settle is how long the event stream lets a burst of writes settle before
// drawing (an az command writes several records in a row).
const settle = 50 * time.Millisecond

// liveEvery is how often a cluster whose data path is counting is drawn
// again without a write (the counts move on their own).
const liveEvery = 5 * time.Second

// follows tells whether the page can follow changes (the store tells
// when writes commit).
func (p *Portal) follows() bool {
	_, ok := p.cfg.Store.(store.Watcher)
	return ok
}

// livePicture is what the event stream sends: the drawing and the cluster's
// changing facts.
type livePicture struct {
	SVG     string `json:"svg"`
	State   string `json:"state"`
	Version string `json:"version"`
	Power   string `json:"power"`
	// counting: the data path's counts are in it (they move without a
	// write, so the stream draws again now and then).
	counting bool
	// changed is the store's change channel taken before it was read.
	changed <-chan struct{}
	// kubeRetry: the cluster's API server could not be read; try again.
	kubeRetry bool
	// kubeChanged closes at the next change of the Kubernetes objects read.
	kubeChanged <-chan struct{}
}

// events streams a cluster's picture as server-sent events: one at once,
// then one each time a write that changes it commits (nothing is sent
// while the picture stays the same), and an "error" event if the cluster
// goes.
func (p *Portal) events(w http.ResponseWriter, r *http.Request) {
	_, ok := p.cfg.Store.(store.Watcher)
	flusher, canFlush := w.(http.Flusher)
	if !ok || !canFlush {
		http.Error(w, "this portal cannot follow changes", http.StatusNotImplemented)
		return
	}
	id := r.URL.Query().Get("id")
	pic, view, ok := p.picture(r.Context(), id)
	if !ok {
		http.Error(w, "no managed cluster "+id, http.StatusNotFound)
		return
	}
	// The connection holds the cluster's Kubernetes watches while it lasts.
	defer func() {
		if view != nil {
			view.release()
		}
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	var last [32]byte
	for {
		data, _ := json.Marshal(pic)
		if sum := sha256.Sum256(data); sum != last {
			last = sum
			if _, err := w.Write(append(append([]byte("event: picture\ndata: "), data...), '\n', '\n')); err != nil {
				return
			}
			flusher.Flush()
		}
		var tick <-chan time.Time
		if pic.counting {
			tick = time.After(liveEvery)
		}
		if pic.kubeRetry {
			tick = time.After(kubeRetry)
		}
		kubeChanged := pic.kubeChanged
		if view != nil {
			if at := view.retry(); !at.IsZero() {
				tick = time.After(time.Until(at))
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-pic.changed:
		case <-kubeChanged:
		case <-tick:
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(settle):
		}
		held := view
		pic, view, ok = p.picture(r.Context(), id)
		if held != nil {
			held.release()
		}
		if !ok {
			w.Write([]byte("event: gone\ndata: {}\n\n")) //nolint:errcheck // the client may have gone too
			flusher.Flush()
			return
		}
	}
}

// picture draws the cluster now (ok false: it is gone or unreadable),
// with the store's change channel taken before reading (so no write is
// missed) and the Kubernetes view it read, held.
func (p *Portal) picture(ctx context.Context, id string) (livePicture, *kubeView, bool) {
	changed := p.cfg.Store.(store.Watcher).Changed()
	g, view, err := p.graph(ctx, id)
	if err != nil {
		return livePicture{}, nil, false
	}
	c := g.Cluster
	pic := livePicture{SVG: string(g.SVG()), State: c.Props.ProvisioningState, Version: c.Props.CurrentKubernetesVersion,
		counting: g.Live, changed: changed, kubeRetry: g.kubeRetry, kubeChanged: g.kubeChanged}
	pic.Power = power(c)
	return pic, view, true
}
