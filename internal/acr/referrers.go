package acr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The referrers API (OCI distribution spec 1.1): the registry library
// stores manifests with a subject like any other but does not answer
// GET /v2/<name>/referrers/<digest>; this does, from the repository's
// manifests, and sets OCI-Subject on the push of a manifest that has a
// subject.

// maxManifest is the largest manifest body read (the library's limit).
const maxManifest = 4 << 20

// manifestInfo is what the referrers API needs of a manifest.
type manifestInfo struct {
	subject    digest.Digest
	descriptor v1.Descriptor
}

// referrers caches manifests' subjects and descriptors by digest
// (manifests are immutable, so a digest's entry never changes).
type referrers struct {
	mu    sync.Mutex
	cache map[digest.Digest]manifestInfo
}

func newReferrers() *referrers { return &referrers{cache: map[digest.Digest]manifestInfo{}} }

// referrersPath parses /v2/<name>/referrers/<digest>.
func referrersPath(p string) (repo string, dgst string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/referrers/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/referrers/"):], true
}

func isManifestPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
}

// manifestFields are the fields of a manifest (image or index) the
// referrers API reads.
type manifestFields struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Config       *v1.Descriptor    `json:"config"`
	Subject      *v1.Descriptor    `json:"subject"`
	Annotations  map[string]string `json:"annotations"`
}

// annotateSubject reads a pushed manifest and, when it names a subject,
// sets OCI-Subject on the answer. It puts the body back for the library.
func (reg *registry) annotateSubject(w http.ResponseWriter, r *http.Request) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid: "+err.Error(), nil)
		return false
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	var m manifestFields
	if json.Unmarshal(b, &m) == nil && m.Subject != nil && m.Subject.Digest != "" {
		w.Header().Set("OCI-Subject", m.Subject.Digest.String())
	}
	return true
}

// serveReferrers answers the referrers of dgst in repo, filtered by the
// artifactType parameter.
func (reg *registry) serveReferrers(w http.ResponseWriter, r *http.Request, repo, dgst string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeErrors(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the operation is unsupported", nil)
		return
	}
	d, err := digest.Parse(dgst)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content", nil)
		return
	}
	named, err := reference.WithName(repo)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", nil)
		return
	}
	list, err := reg.referrersOf(r.Context(), named, d)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "UNKNOWN", "unknown error", nil)
		return
	}
	filter := r.URL.Query().Get("artifactType")
	if filter != "" {
		kept := list[:0]
		for _, desc := range list {
			if desc.ArtifactType == filter {
				kept = append(kept, desc)
			}
		}
		list = kept
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	body, _ := json.Marshal(v1.Index{
		Versioned: v1Versioned, MediaType: v1.MediaTypeImageIndex, Manifests: list,
	})
	w.Header().Set("Content-Type", v1.MediaTypeImageIndex)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body) //nolint:errcheck // the client went away
	}
}

// referrersOf lists the descriptors of the manifests in repo whose
// subject is d; a repository that does not exist has none.
func (reg *registry) referrersOf(ctx context.Context, named reference.Named, d digest.Digest) ([]v1.Descriptor, error) {
	list := []v1.Descriptor{}
	repo, err := reg.ns.Repository(ctx, named)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	en, ok := ms.(distribution.ManifestEnumerator)
	if !ok {
		return nil, errors.New("manifest service cannot enumerate")
	}
	err = en.Enumerate(ctx, func(m digest.Digest) error {
		info, err := reg.info(ctx, ms, m)
		if err != nil {
			return err
		}
		if info.subject == d {
			list = append(list, info.descriptor)
		}
		return nil
	})
	var notFound distribution.ErrRepositoryUnknown
	if err != nil && !errors.As(err, &notFound) && !isPathNotFound(err) {
		return nil, err
	}
	return list, nil
}

// info reads manifest m's subject and descriptor.
func (reg *registry) info(ctx context.Context, ms distribution.ManifestService, m digest.Digest) (manifestInfo, error) {
	reg.refs.mu.Lock()
	info, ok := reg.refs.cache[m]
	reg.refs.mu.Unlock()
	if ok {
		return info, nil
	}
	man, err := ms.Get(ctx, m)
	if err != nil {
		return manifestInfo{}, err
	}
	_, b, err := man.Payload()
	if err != nil {
		return manifestInfo{}, err
	}
	var f manifestFields
	if err := json.Unmarshal(b, &f); err != nil {
		// Not JSON that names a subject: referred to by nothing here.
		f = manifestFields{}
	}
	info.descriptor = v1.Descriptor{MediaType: f.MediaType, Digest: m, Size: int64(len(b)), ArtifactType: f.ArtifactType, Annotations: f.Annotations}
	if info.descriptor.ArtifactType == "" && f.Config != nil && f.MediaType == v1.MediaTypeImageManifest {
		info.descriptor.ArtifactType = f.Config.MediaType
	}
	if f.Subject != nil {
		info.subject = f.Subject.Digest
	}
	reg.refs.mu.Lock()
	reg.refs.cache[m] = info
	reg.refs.mu.Unlock()
	return info, nil
}
