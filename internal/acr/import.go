package acr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/provider/containerregistry"
	"github.com/localaks/localaks/internal/store"
)

// Import copies an image (or index, with everything it references) from
// another registry of this instance into registry target (importImage):
// the copy runs through both registries' own data planes, in process, as
// the platform.
func (s *Server) Import(ctx context.Context, target *store.Resource, in containerregistry.ImportParams) error {
	src, err := s.importSource(ctx, in.Source)
	if err != nil {
		return err
	}
	repo, ref, err := splitImage(in.Source.SourceImage)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The source image '%s' is not valid: %v.", in.Source.SourceImage, err).WithTarget("source.sourceImage")
	}
	srcRef, err := name.ParseReference(src + "/" + repo + ref)
	if err != nil {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The source image '%s' is not valid: %v.", in.Source.SourceImage, err).WithTarget("source.sourceImage")
	}
	targets := in.TargetTags
	if len(targets) == 0 && len(in.UntaggedTargetRepositories) == 0 {
		targets = []string{in.Source.SourceImage}
	}
	var props containerregistry.Properties
	if err := decodeProps(target, &props); err != nil {
		return err
	}
	opts := []remote.Option{remote.WithTransport(&inProcess{s: s}), remote.WithContext(ctx)}
	desc, err := remote.Get(srcRef, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The source image %s was not found.", srcRef).WithTarget("source.sourceImage")
		}
		return fmt.Errorf("read %s: %w", srcRef, err)
	}
	var dsts []name.Reference
	for _, t := range targets {
		if !strings.ContainsAny(t, ":@") {
			t += ref
		}
		r, err := name.ParseReference(props.LoginServer + "/" + t)
		if err != nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The target tag '%s' is not valid: %v.", t, err).WithTarget("targetTags")
		}
		dsts = append(dsts, r)
	}
	for _, u := range in.UntaggedTargetRepositories {
		r, err := name.ParseReference(props.LoginServer + "/" + u + "@" + desc.Digest.String())
		if err != nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The target repository '%s' is not valid: %v.", u, err).WithTarget("untaggedTargetRepositories")
		}
		dsts = append(dsts, r)
	}
	if !strings.EqualFold(in.Mode, "Force") {
		for _, d := range dsts {
			if _, ok := d.(name.Tag); !ok {
				continue
			}
			if _, err := remote.Head(d, opts...); err == nil {
				return arm.Errorf(http.StatusConflict, "TagAlreadyExists",
					"The tag %s already exists in the target registry; import with mode Force to overwrite it.", d.Context().RepositoryStr()+":"+d.Identifier()).WithTarget("targetTags")
			}
		}
	}
	for _, d := range dsts {
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err == nil {
				err = remote.WriteIndex(d, idx, opts...)
			}
			if err != nil {
				return fmt.Errorf("copy %s to %s: %w", srcRef, d, err)
			}
			continue
		}
		img, err := desc.Image()
		if err == nil {
			err = remote.Write(d, img, opts...)
		}
		if err != nil {
			return fmt.Errorf("copy %s to %s: %w", srcRef, d, err)
		}
	}
	return nil
}

// importSource is the login server of an import's source: a registry of
// this instance, by resource ID or login server.
func (s *Server) importSource(ctx context.Context, src containerregistry.ImportSource) (string, error) {
	var found string
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		all, err := tx.List(store.Query{Type: containerregistry.RegistryType})
		if err != nil {
			return err
		}
		for _, r := range all {
			var props containerregistry.Properties
			if err := decodeProps(r, &props); err != nil {
				return err
			}
			if src.ResourceID != "" && strings.EqualFold(r.ID, src.ResourceID) ||
				src.RegistryURI != "" && strings.EqualFold(strings.TrimSuffix(src.RegistryURI, ":443"), props.LoginServer) {
				found = props.LoginServer
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if found != "" {
		return found, nil
	}
	if src.ResourceID != "" {
		return "", arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The source registry '%s' could not be found.", src.ResourceID).WithTarget("source.resourceId")
	}
	if src.RegistryURI == "" {
		return "", arm.Errorf(http.StatusBadRequest, "InvalidParameters", "The source must name a registry: resourceId or registryUri.").WithTarget("source")
	}
	// localaks reaches no registry outside itself.
	return "", arm.Errorf(http.StatusBadRequest, "InvalidParameters",
		"The source registry '%s' cannot be reached: localaks imports only from its own registries (*%s).", src.RegistryURI, containerregistry.LoginSuffix).WithTarget("source.registryUri")
}

// splitImage splits "repo:tag" or "repo@digest" into the repository and
// the ":tag" or "@digest" suffix (":latest" when neither).
func splitImage(image string) (repo, ref string, err error) {
	if image == "" {
		return "", "", errors.New("empty")
	}
	if i := strings.Index(image, "@"); i >= 0 {
		return image[:i], image[i:], nil
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i:], nil
	}
	return image, ":latest", nil
}

// inProcess is a transport to this instance's registries: requests go to
// the data plane's handler directly, with a token that may do anything.
type inProcess struct{ s *Server }

func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	if _, ok := LoginName(host); !ok {
		return nil, fmt.Errorf("%s is not a registry of this instance", host)
	}
	tok, err := t.s.tokens.sign(&claims{Audience: strings.ToLower(strings.TrimSuffix(host, ":443")), GrantType: "access_token", Admin: true}, accessLifetime)
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Host = host
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Authorization", "Bearer "+tok)
	if req.Body == nil {
		req.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		t.s.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64)
	if err != nil {
		n = -1
	}
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.sent, Body: pr,
		ContentLength: n, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// pipeWriter is a ResponseWriter whose body streams through a pipe.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	body   *io.PipeWriter
	status int
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func decodeProps(r *store.Resource, props *containerregistry.Properties) error {
	_, err := jsonx.Decode(r.Properties, props)
	return err
}
