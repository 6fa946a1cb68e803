package acr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// ACR's metadata API (/acr/v1, the 2021-07-01 data-plane spec) as far as
// az acr repository uses it: the catalog, a repository's attributes and
// deletion, its tags and manifests with their digests and times, and tag
// deletion. Changeable attributes (lock/unlock: PATCH) are not kept; such
// requests get 405, and every item reports ACR's defaults (all enabled).

// repoRoot is where the library keeps a repository's links.
func repoRoot(repo string) string { return "/docker/registry/v2/repositories/" + repo }

var changeable = map[string]bool{"deleteEnabled": true, "writeEnabled": true, "readEnabled": true, "listEnabled": true}

// netTime is how ACR prints times.
func netTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func (s *Server) metadata(w http.ResponseWriter, r *http.Request, res *resource, reg *registry) {
	rest := strings.TrimPrefix(r.URL.Path, "/acr/v1/")
	if r.Method == http.MethodPatch || r.Method == http.MethodPut {
		w.Header().Set("Allow", "GET, DELETE")
		writeErrors(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "changing attributes (lock, unlock) is not supported by localaks", nil)
		return
	}
	if rest == "_catalog" {
		s.catalog(w, r, reg)
		return
	}
	repo, sub := rest, ""
	for _, seg := range []string{"/_tags", "/_manifests"} {
		if i := strings.Index(rest, seg); i >= 0 {
			repo, sub = rest[:i], rest[i:]
			break
		}
	}
	named, err := reference.WithName(repo)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", nil)
		return
	}
	ctx := r.Context()
	rp, err := reg.ns.Repository(ctx, named)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", nil)
		return
	}
	if _, err := reg.driver.Stat(ctx, repoRoot(repo)); err != nil {
		writeErrors(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry", map[string]string{"name": repo})
		return
	}
	base := map[string]any{"registry": res.LoginServer, "imageName": repo}
	switch {
	case sub == "":
		if r.Method == http.MethodDelete {
			s.deleteRepository(w, r, reg, rp, repo)
			return
		}
		tags, manifests, err := reg.listing(ctx, rp, repo)
		if err != nil {
			internalError(w, s, err)
			return
		}
		created, updated := reg.times(ctx, repoRoot(repo))
		base["createdTime"], base["lastUpdateTime"] = created, updated
		base["manifestCount"], base["tagCount"] = len(manifests), len(tags)
		base["changeableAttributes"] = changeable
		writeJSON(w, http.StatusOK, base)
	case sub == "/_tags" || strings.HasPrefix(sub, "/_tags/"):
		tags, _, err := reg.listing(ctx, rp, repo)
		if err != nil {
			internalError(w, s, err)
			return
		}
		if name, one := strings.CutPrefix(sub, "/_tags/"); one {
			t, ok := find(tags, name)
			if !ok {
				writeErrors(w, http.StatusNotFound, "TAG_UNKNOWN", "the specified tag does not exist", map[string]string{"Tag": name})
				return
			}
			if r.Method == http.MethodDelete {
				if err := reg.write(s, true, func() error { return rp.Tags(ctx).Untag(ctx, name) }); err != nil {
					internalError(w, s, err)
					return
				}
				w.WriteHeader(http.StatusAccepted)
				return
			}
			base["tag"] = t
			writeJSON(w, http.StatusOK, base)
			return
		}
		q := r.URL.Query()
		if d := q.Get("digest"); d != "" {
			kept := tags[:0]
			for _, t := range tags {
				if t["digest"] == d {
					kept = append(kept, t)
				}
			}
			tags = kept
		}
		order(tags, q.Get("orderby"), "name")
		page, next := paginate(tags, q, "name")
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf(`</acr/v1/%s/_tags?last=%s&n=%s&orderby=%s>; rel="next"`, repo, url.QueryEscape(next), q.Get("n"), q.Get("orderby")))
		}
		base["tags"] = page
		writeJSON(w, http.StatusOK, base)
	default: // _manifests
		_, manifests, err := reg.listing(ctx, rp, repo)
		if err != nil {
			internalError(w, s, err)
			return
		}
		if d, one := strings.CutPrefix(sub, "/_manifests/"); one {
			m, ok := find(manifests, d)
			if !ok {
				writeErrors(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", map[string]string{"Digest": d})
				return
			}
			if r.Method == http.MethodDelete {
				dg, _ := digest.Parse(d)
				ms, err := rp.Manifests(ctx)
				if err == nil {
					err = reg.write(s, true, func() error { return ms.Delete(ctx, dg) })
				}
				if err != nil {
					internalError(w, s, err)
					return
				}
				w.WriteHeader(http.StatusAccepted)
				return
			}
			base["manifest"] = m
			writeJSON(w, http.StatusOK, base)
			return
		}
		q := r.URL.Query()
		order(manifests, q.Get("orderby"), "digest")
		page, next := paginate(manifests, q, "digest")
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf(`</acr/v1/%s/_manifests?last=%s&n=%s&orderby=%s>; rel="next"`, repo, url.QueryEscape(next), q.Get("n"), q.Get("orderby")))
		}
		base["manifests"] = page
		writeJSON(w, http.StatusOK, base)
	}
}

func internalError(w http.ResponseWriter, s *Server, err error) {
	s.cfg.Log.Error("registry metadata", "err", err)
	writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "unknown error", nil)
}

// write runs a change to content with garbage collection held off.
func (reg *registry) write(s *Server, deletes bool, fn func() error) error {
	reg.gc.RLock()
	defer reg.gc.RUnlock()
	s.mu.Lock()
	reg.lastWrite = s.cfg.Now()
	reg.dirty = reg.dirty || deletes
	s.mu.Unlock()
	return fn()
}

func find(items []map[string]any, key string) (map[string]any, bool) {
	for _, it := range items {
		if it["name"] == key || it["digest"] == key {
			return it, true
		}
	}
	return nil, false
}

// order sorts items by time (orderby timedesc / timeasc) or by key.
func order(items []map[string]any, by, key string) {
	sort.SliceStable(items, func(i, j int) bool {
		switch by {
		case "timedesc":
			return items[i]["lastUpdateTime"].(string) > items[j]["lastUpdateTime"].(string)
		case "timeasc":
			return items[i]["lastUpdateTime"].(string) < items[j]["lastUpdateTime"].(string)
		}
		return items[i][key].(string) < items[j][key].(string)
	})
}

// paginate applies n and last; next is the last item's key when more
// follow.
func paginate(items []map[string]any, q url.Values, key string) ([]map[string]any, string) {
	if last := q.Get("last"); last != "" {
		for i, it := range items {
			if it[key] == last {
				items = items[i+1:]
				break
			}
		}
	}
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n <= 0 || n >= len(items) {
		return items, ""
	}
	return items[:n], items[n-1][key].(string)
}

// times are a path's creation and last change as ACR prints them (the
// library keeps no creation time: both are its modification time).
func (reg *registry) times(ctx context.Context, p string) (string, string) {
	fi, err := reg.driver.Stat(ctx, p)
	if err != nil {
		now := netTime(time.Now())
		return now, now
	}
	t := netTime(fi.ModTime())
	return t, t
}

// listing reads a repository's tags and manifests as /acr/v1 prints them.
func (reg *registry) listing(ctx context.Context, rp distribution.Repository, repo string) (tags, manifests []map[string]any, err error) {
	names, err := rp.Tags(ctx).All(ctx)
	var unknown distribution.ErrRepositoryUnknown
	if err != nil && !errors.As(err, &unknown) && !isPathNotFound(err) {
		return nil, nil, err
	}
	tagsOf := map[digest.Digest][]string{}
	tags = []map[string]any{}
	for _, name := range names {
		desc, err := rp.Tags(ctx).Get(ctx, name)
		if err != nil {
			continue // untagged meanwhile
		}
		created, updated := reg.times(ctx, path.Join(repoRoot(repo), "_manifests/tags", name, "current/link"))
		tags = append(tags, map[string]any{"name": name, "digest": desc.Digest.String(), "createdTime": created, "lastUpdateTime": updated,
			"signed": false, "changeableAttributes": changeable})
		tagsOf[desc.Digest] = append(tagsOf[desc.Digest], name)
	}
	manifests = []map[string]any{}
	ms, err := rp.Manifests(ctx)
	if err != nil {
		return nil, nil, err
	}
	en, ok := ms.(distribution.ManifestEnumerator)
	if !ok {
		return tags, manifests, nil
	}
	err = en.Enumerate(ctx, func(d digest.Digest) error {
		info, err := reg.info(ctx, ms, d)
		if err != nil {
			return err
		}
		created, updated := reg.times(ctx, path.Join(repoRoot(repo), "_manifests/revisions", d.Algorithm().String(), d.Encoded(), "link"))
		t := tagsOf[d]
		if t == nil {
			t = []string{}
		}
		manifests = append(manifests, map[string]any{"digest": d.String(), "imageSize": info.descriptor.Size, "createdTime": created,
			"lastUpdateTime": updated, "mediaType": info.descriptor.MediaType, "tags": t, "changeableAttributes": changeable})
		return nil
	})
	if err != nil && !errors.As(err, &unknown) && !isPathNotFound(err) {
		return nil, nil, err
	}
	return tags, manifests, nil
}

// deleteRepository deletes a repository's manifests and tags and the
// repository (az acr repository delete --repository).
func (s *Server) deleteRepository(w http.ResponseWriter, r *http.Request, reg *registry, rp distribution.Repository, repo string) {
	ctx := r.Context()
	tags, manifests, err := reg.listing(ctx, rp, repo)
	if err != nil {
		internalError(w, s, err)
		return
	}
	out := map[string]any{"manifestsDeleted": []string{}, "tagsDeleted": []string{}}
	err = reg.write(s, true, func() error {
		var mDel, tDel []string
		for _, t := range tags {
			tDel = append(tDel, t["name"].(string))
		}
		for _, m := range manifests {
			mDel = append(mDel, m["digest"].(string))
		}
		if err := reg.driver.Delete(ctx, repoRoot(repo)); err != nil && !isPathNotFound(err) {
			return err
		}
		if mDel != nil {
			out["manifestsDeleted"] = mDel
		}
		if tDel != nil {
			out["tagsDeleted"] = tDel
		}
		return nil
	})
	if err != nil {
		internalError(w, s, err)
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}

// catalog lists repositories (/acr/v1/_catalog), paged as /v2/_catalog.
func (s *Server) catalog(w http.ResponseWriter, r *http.Request, reg *registry) {
	ctx := r.Context()
	en, ok := reg.ns.(distribution.RepositoryEnumerator)
	var all []string
	if ok {
		err := en.Enumerate(ctx, func(name string) error { all = append(all, name); return nil })
		if err != nil && !isPathNotFound(err) {
			internalError(w, s, err)
			return
		}
	}
	sort.Strings(all)
	q := r.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(all, last)
		if i < len(all) && all[i] == last {
			i++
		}
		all = all[i:]
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n > 0 && n < len(all) {
		all = all[:n]
		w.Header().Set("Link", fmt.Sprintf(`</acr/v1/_catalog?last=%s&n=%d>; rel="next"`, url.QueryEscape(all[n-1]), n))
	}
	if all == nil {
		all = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"repositories": all})
}
