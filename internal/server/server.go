// Package server assembles a localaks instance — store, PKI, Entra, ARM and
// the resource providers — and runs it on HTTPS listeners.
package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/localaks/localaks/internal/acr"
	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/aksapi"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/azurerbac"
	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/fsutil"
	"github.com/localaks/localaks/internal/graph"
	"github.com/localaks/localaks/internal/nodehost"
	"github.com/localaks/localaks/internal/oidcissuer"
	"github.com/localaks/localaks/internal/pki"
	"github.com/localaks/localaks/internal/portal"
	"github.com/localaks/localaks/internal/provider/authorization"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/containerregistry"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/management"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/provider/resources"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/supervisor"
)

// DefaultListen is where serve listens unless told otherwise: loopback only.
const DefaultListen = "localhost:7443"

// Config configures a Server.
type Config struct {
	DataDir datadir.Dir
	// Listen are host:port addresses; "localhost" means 127.0.0.1 and ::1.
	// Port 0 picks a free port (the same one for every address).
	Listen []string
	// Hosts are extra names for the serving certificate.
	Hosts []string
	// RetryAfter is the Retry-After (seconds) of long-running operations.
	RetryAfter int
	// ServicePrincipals are client ID/secret pairs registered in the
	// directory (with the built-in one) at every start: Owners of the
	// default subscription and directory administrators.
	ServicePrincipals map[string]string
	// TenantID and SubscriptionID choose the default IDs on first start.
	TenantID, SubscriptionID string
	// PageSize is the default page size of list responses.
	PageSize int
	// PublicIPPool is where public IP addresses come from (default
	// network.DefaultPublicIPPool).
	PublicIPPool netip.Prefix
	// MinOperationDuration is the shortest time a long-running operation
	// takes (default 0: as fast as the work allows).
	MinOperationDuration time.Duration
	// ControlPlanes runs a real Kubernetes control plane per cluster
	// (package supervisor); off, clusters are ARM resources only.
	ControlPlanes bool
	// ControlPlaneCommand starts a control-plane process (default: this
	// binary's `controlplane` command).
	ControlPlaneCommand []string
	// Nodes is the node mode of pools that ask for none: "simulated" (the
	// default) or "real".
	Nodes string
	// Open accepts any client ID and secret (registering unknown clients in
	// the directory) and checks no role assignments: every authenticated
	// caller may do everything. Off (the default), only the directory's
	// principals sign in and every ARM request is checked against the
	// caller's role assignments (AuthorizationFailed otherwise).
	Open bool
	Log  *slog.Logger
}

// Server is a running localaks instance.
type Server struct {
	cfg       Config
	store     store.Store
	engine    *arm.Engine
	handler   http.Handler
	acr       *acr.Server
	tlsCert   tls.Certificate
	listeners []net.Listener
	lock      *datadir.Lock
	url       string
	client    datadir.Client
	sup       *supervisor.Supervisor
	rec       *aks.Reconciler
	// ops is the context of work that outlives requests (set by Run).
	ops atomic.Pointer[context.Context]
}

// New prepares an instance: takes the data directory's lock, opens the
// store, creates or loads keys and certificates, binds the listeners. Run
// serves.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{DefaultListen}
	}
	d := cfg.DataDir
	if err := d.Create(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.lock, err = d.LockFile("serve.lock", false); err != nil {
		return nil, fmt.Errorf("data dir %s is in use by another localaks serve (%v); stop it or use --data-dir", d.Path, err)
	}
	if s.store, err = store.OpenSQLite(ctx, d.DB()); err != nil {
		return nil, err
	}
	// The store holds secrets' digests and clusters' credentials: the
	// owner's only.
	for _, f := range []string{d.DB(), d.DB() + "-wal", d.DB() + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	ca, err := pki.LoadOrCreateCA(d.PKI(), "ca", "localaks local CA")
	if err != nil {
		return nil, err
	}
	if err := writeCABundle(d, ca.CertFile); err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	// *.azurecr.io: the container registries' login servers (proxy.go).
	hosts := append([]string{"localhost", "127.0.0.1", "::1", "*" + containerregistry.LoginSuffix, entra.PublicAuthorityHost}, cfg.Hosts...)
	for _, l := range s.listeners {
		if h, _, err := net.SplitHostPort(l.Addr().String()); err == nil && !slices.Contains(hosts, h) && !net.ParseIP(h).IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	if s.tlsCert, err = ca.ServingCert(d.PKI(), "serving", hosts); err != nil {
		return nil, err
	}
	signingKey, err := loadOrCreateRSA(filepath.Join(d.PKI(), "entra-signing-key.pem"))
	if err != nil {
		return nil, err
	}
	dir := arm.NewDirectory(s.store)
	ident, err := dir.Bootstrap(ctx, cfg.TenantID, cfg.SubscriptionID)
	if err != nil {
		return nil, err
	}
	builtin, err := builtinClient(ctx, s.store)
	if err != nil {
		return nil, err
	}
	s.client = datadir.Client{TenantID: ident.TenantID, SubscriptionID: ident.SubscriptionID, ClientID: builtin.ID, ClientSecret: builtin.Secret}
	if err := d.WriteClient(s.client); err != nil {
		return nil, err
	}
	// The built-in principal, and those serve is told to accept, are the
	// directory's administrators and own the default subscription.
	directory := graph.New(s.store)
	owners := map[string]string{builtin.ID: builtin.Secret}
	for id, secret := range cfg.ServicePrincipals {
		owners[id] = secret
	}
	if err := s.store.Update(ctx, func(tx store.Tx) error {
		for id, secret := range owners {
			oid := entra.ServicePrincipalObjectID(ident.TenantID, id)
			name := id
			if id == builtin.ID {
				name = "localaks"
			}
			if err := directory.EnsureServicePrincipal(tx, ident.TenantID, id, oid, name, secret, true); err != nil {
				return err
			}
			if err := authorization.EnsureOwner(tx, ident.SubscriptionID, oid, time.Now()); err != nil {
				return err
			}
			// And of the tenant root management group: they administer
			// the tenant.
			if err := authorization.EnsureAssignment(tx, management.GroupID(strings.ToLower(ident.TenantID)), oid, authorization.OwnerRoleID, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	signer := entra.NewSigner(signingKey)
	reg := arm.NewRegistry()
	s.engine = arm.NewEngine(s.store, cfg.Log, cfg.RetryAfter)
	s.engine.SetMinDuration(cfg.MinOperationDuration)
	rp := resources.Register(resources.Config{Store: s.store, Registry: reg, Engine: s.engine, Directory: dir, Log: cfg.Log})
	netp := network.Register(network.Config{Store: s.store, Registry: reg, Log: cfg.Log, PublicIPPool: cfg.PublicIPPool, Engine: s.engine})
	comp := compute.Register(compute.Config{Store: s.store, Registry: reg, Network: netp, Log: cfg.Log})
	tenantOf := func(sub string) string {
		props, err := dir.Subscription(context.Background(), sub)
		if err != nil {
			return ident.TenantID
		}
		return props.TenantID
	}
	_, port, _ := net.SplitHostPort(s.listeners[0].Addr().String())
	s.url = "https://localhost:" + port
	self, err := selfClient(s.url, d.CAFile(), signer)
	if err != nil {
		return nil, err
	}
	rp.SetSelf(self)
	ids := managedidentity.Register(reg, s.store, tenantOf)
	authz := authorization.Register(reg, s.store)
	mgmt := management.Config{Store: s.store, GrantOwner: func(tx store.Tx, scope string, c arm.Caller) error {
		typ := "ServicePrincipal"
		if c.UserPrincipalName != "" {
			typ = "User"
		}
		return authorization.EnsureAssignmentOf(tx, scope, c.ObjectID, typ, authorization.OwnerRoleID, time.Now())
	}}
	if !cfg.Open {
		mgmt.Permits = authorization.Permits
	}
	management.Register(reg, mgmt)
	if !cfg.Open {
		rp.SetReaches(authz.Reaches)
	}
	crp := containerregistry.Register(reg, s.store)
	acrKey, err := loadOrCreateRSA(filepath.Join(d.PKI(), "acr-signing-key.pem"))
	if err != nil {
		return nil, err
	}
	if s.acr, err = acr.New(acr.Config{Store: s.store, Root: d.Registries(), Entra: signer, TenantOf: tenantOf, Key: acrKey, Log: cfg.Log}); err != nil {
		return nil, err
	}
	// A deleted registry's content goes with it; a resource group's
	// deletion removes its registries' content first.
	crp.Registries.Changed = func(string) {
		go func() {
			if err := s.acr.Sweep(context.Background()); err != nil {
				cfg.Log.Warn("registry content", "err", err)
			}
		}()
	}
	crp.Registries.Teardown = s.acr.Teardown
	crp.ContentSize = s.acr.Size
	crp.Import = s.acr.Import
	rec := &aks.Reconciler{Store: s.store, Net: netp, Compute: comp, Identity: ids, TenantOf: tenantOf, Log: cfg.Log}
	s.rec = rec
	rules := &aks.Rules{Net: netp, Compute: comp, TenantOf: tenantOf, IssuerBase: s.url, DefaultNodes: cfg.Nodes, IdentityAccess: !cfg.Open}
	if cfg.ControlPlanes {
		// Real nodes need this host's namespaces and container runtime;
		// without control planes nothing runs, so nothing is needed.
		rules.HostMissing = nodehost.Missing
	}
	csp := aksapi.Register(aksapi.Config{Store: s.store, Registry: reg, Engine: s.engine, Reconciler: rec,
		Rules: rules, Log: cfg.Log})
	// A client's capacity change or instance deletion on a pool's scale
	// set (the cluster autoscaler's) is the pool's operation.
	comp.Owned = csp.ScaleSetOwner
	// A route table's routes are real nodes' kernel routes, and load
	// balancers, their public IPs and security groups are their data path:
	// a change goes to the clusters using it as soon as it commits.
	follow := func(id string) {
		ctx := s.ops.Load()
		if ctx == nil || s.sup == nil {
			return
		}
		go func() {
			if err := rec.FollowNetwork(*ctx, id); err != nil && (*ctx).Err() == nil {
				cfg.Log.Error("network change", "resource", id, "err", err)
			}
		}()
	}
	for _, t := range []*arm.Tracked{netp.RouteTables, netp.LoadBalancers, netp.PublicIPs, netp.NSGs, netp.ApplicationGateways, netp.WAFPolicies} {
		t.Changed = follow
	}
	if cfg.ControlPlanes {
		s.sup, err = supervisor.New(supervisor.Config{Dir: d.Clusters(), Command: cfg.ControlPlaneCommand, Log: cfg.Log,
			ARMEndpoint: s.url, CAFile: d.CAFile(),
			WebhookToken: func(uid string) (string, error) { return azurerbac.Token(signer, uid) }})
		if err != nil {
			return nil, err
		}
		rec.ControlPlane = s.sup
		csp.Kubeconfig = func(c *aks.Cluster, role string) ([]byte, error) {
			id := resourceid.MustParse(c.Record.ID)
			return supervisor.Kubeconfig(string(s.sup.Layout(c.Props.ResourceUID)), role, id.ResourceGroupName(), id.Name(), c.Props.Localaks.APIServerPort)
		}
		csp.Exec = func(ctx context.Context, c *aks.Cluster, command string, contextZip []byte) (int, string, error) {
			id := resourceid.MustParse(c.Record.ID)
			res, err := s.sup.RunCommand(ctx, c.Props.ResourceUID, id.ResourceGroupName(), id.Name(), c.Props.Localaks.APIServerPort, command, contextZip)
			return res.ExitCode, res.Logs, err
		}
	} else {
		// ARM only: credential listings still return a well-formed
		// kubeconfig (IaC tools read it), whose server is serve's own
		// address, where every Kubernetes request gets a 503 that says
		// why (noControlPlane).
		csp.Kubeconfig = func(c *aks.Cluster, role string) ([]byte, error) {
			return s.noControlPlaneKubeconfig(ca, d, c, role)
		}
	}
	armServer := arm.NewServer(arm.Config{
		Store:     s.store,
		Registry:  reg,
		Directory: dir,
		Signer:    signer,
		Entra: entra.NewServer(entra.Config{Signer: signer, Directory: dir, Principals: directory, Users: directory, Open: cfg.Open, Logger: cfg.Log, IssuerBase: s.url,
			Identities: func(ctx context.Context, clientID string) (secret, objectID string, ok bool) {
				s.store.View(ctx, func(tx store.Tx) error { //nolint:errcheck // not found is !ok
					secret, objectID, ok = aks.CloudCredential(tx, clientID)
					return nil
				})
				return secret, objectID, ok
			},
			FederatedIdentity: s.federatedIdentity,
			IssuerKeys:        s.issuerPublicKeys,
		}),
		Log:       cfg.Log,
		PageSize:  cfg.PageSize,
		Authorize: enforce(!cfg.Open, authz),
	})
	issuers := oidcissuer.Handler(s.issuerKeys)
	azureRBAC := &azurerbac.Handler{Store: s.store, Signer: signer, Log: cfg.Log}
	graphAPI := graph.NewHandler(graph.Config{Directory: directory, Signer: signer, Tenants: dir, Open: cfg.Open, Log: cfg.Log})
	pcfg := portal.Config{Store: s.store, Log: cfg.Log,
		ARM: portalARM(armServer, reg, signer, func() string { return s.url }, ident.TenantID, builtin.ID)}
	if s.sup != nil {
		pcfg.DataPath = s.sup.DataPath
		// The portal lists and watches with the cluster's own client
		// credential (it only reads).
		pcfg.Kube = func(c *aks.Cluster) (*rest.Config, error) {
			if s.sup.Version(c.Props.ResourceUID) == "" {
				return nil, portal.ErrNotRunning
			}
			kc, err := csp.Kubeconfig(c, supervisor.RoleAdmin)
			if err != nil {
				return nil, err
			}
			return clientcmd.RESTConfigFromKubeConfig(kc)
		}
	}
	web := portal.New(pcfg)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := acr.LoginName(r.Host); ok {
			s.acr.ServeHTTP(w, r)
			return
		}
		switch {
		case strings.HasPrefix(r.URL.Path, oidcissuer.Prefix):
			issuers.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, azurerbac.Prefix):
			azureRBAC.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, graph.Prefix):
			graphAPI.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, portal.Prefix):
			web.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, noControlPlanePrefix):
			noControlPlane(w, r)
		case r.URL.Path == strings.TrimSuffix(portal.Prefix, "/"):
			http.Redirect(w, r, portal.Prefix, http.StatusMovedPermanently)
		default:
			armServer.ServeHTTP(w, r)
		}
	})
	return s, nil
}

// federatedIdentity finds the user-assigned identity with clientID and
// whether one of its federated credentials trusts the assertion.
func (s *Server) federatedIdentity(ctx context.Context, clientID string, a entra.Assertion) (objectID string, known, trusted bool) {
	s.store.View(ctx, func(tx store.Tx) error { //nolint:errcheck // an error is "not known"
		props, creds, ok, err := managedidentity.Federated(tx, clientID)
		if err != nil || !ok {
			return err
		}
		objectID, known = props.PrincipalID, true
		trusted = slices.ContainsFunc(creds, func(fc managedidentity.FederatedCredential) bool { return fc.Trusts(a.Issuer, a.Subject, a.Audiences) })
		return nil
	})
	return objectID, known, trusted
}

// issuerPublicKeys are the keys of a cluster's OIDC issuer, for tokens it
// issued (the issuer must be exactly the cluster's).
func (s *Server) issuerPublicKeys(ctx context.Context, issuer string) (map[string]*rsa.PublicKey, bool) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, false
	}
	stored, pems, ok, err := s.issuerKeys(ctx, u.Path)
	if err != nil || !ok || stored != issuer {
		return nil, false
	}
	keys, err := oidcissuer.PublicKeys(pems)
	return keys, err == nil
}

// issuerKeys finds the cluster with an OIDC issuer path and the public
// keys of its service-account tokens (none without a control plane).
func (s *Server) issuerKeys(ctx context.Context, path string) (issuer string, keys [][]byte, ok bool, err error) {
	var c *aks.Cluster
	if err := s.store.View(ctx, func(tx store.Tx) error {
		c, err = aks.ClusterByIssuerPath(tx, path)
		return err
	}); err != nil || c == nil || s.sup == nil {
		return "", nil, false, err
	}
	keys, err = s.sup.ServiceAccountKeys(c.Props.ResourceUID)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, false, nil
	}
	return c.Props.OIDCIssuerProfile.IssuerURL, keys, err == nil, err
}

// URL is the ARM endpoint, e.g. https://localhost:7443.
func (s *Server) URL() string { return s.url }

// Client is the built-in identity and default IDs.
func (s *Server) Client() datadir.Client { return s.client }

// Addresses lists the listening sockets.
func (s *Server) Addresses() []string {
	var out []string
	for _, l := range s.listeners {
		out = append(out, l.Addr().String())
	}
	return out
}

// listen binds every configured address. "localhost" binds 127.0.0.1 and,
// where the machine has it, ::1.
func (s *Server) listen() error {
	port := ""
	for _, addr := range s.cfg.Listen {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("--listen %q: %w", addr, err)
		}
		if p == "0" && port != "" {
			p = port
		}
		hosts := []string{host}
		if host == "localhost" || host == "" {
			hosts = []string{"127.0.0.1", "::1"}
		}
		for i, h := range hosts {
			l, err := net.Listen("tcp", net.JoinHostPort(h, p))
			if err != nil {
				if i > 0 && h == "::1" {
					// No IPv6 loopback here; 127.0.0.1 is enough.
					s.cfg.Log.Debug("not listening on ::1", "err", err)
					continue
				}
				return fmt.Errorf("listen on %s: %w", net.JoinHostPort(h, p), err)
			}
			s.listeners = append(s.listeners, l)
			if p == "0" {
				_, p, _ = net.SplitHostPort(l.Addr().String())
			}
			port = p
		}
	}
	return nil
}

// Run serves until ctx ends, then shuts down gracefully: stops accepting,
// lets requests in flight finish, stops operations (they resume at the next
// start) and closes the store.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	opsCtx, stopOps := context.WithCancel(context.Background())
	defer stopOps()
	s.ops.Store(&opsCtx)
	if err := s.engine.Start(opsCtx); err != nil {
		return err
	}
	if s.sup != nil {
		go s.resumeClusters(opsCtx)
	}
	if err := s.acr.Sweep(opsCtx); err != nil {
		s.cfg.Log.Warn("registry content", "err", err)
	}
	go s.acr.Run(opsCtx)
	srv := &http.Server{
		Handler:           withTLSState(s.handler),
		ConnContext:       connContext,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.tlsCert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
	}
	errs := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() { errs <- srv.Serve(spaceEncodingListener{tls.NewListener(newSniffListener(l), srv.TLSConfig)}) }()
	}
	if err := s.cfg.DataDir.WriteServe(datadir.Serve{PID: os.Getpid(), URL: s.url, Addresses: s.Addresses()}); err != nil {
		return err
	}
	defer s.cfg.DataDir.RemoveServe() //nolint:errcheck // best effort at exit
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.cfg.Log.Warn("shutdown", "err", err)
	}
	stopOps()
	s.engine.Wait()
	if s.sup != nil {
		if err := s.sup.Shutdown(shutdownCtx); err != nil {
			s.cfg.Log.Warn("stop control planes", "err", err)
		}
	}
	return runErr
}

// resumeClusters starts the control plane of every running cluster that
// no operation is working on (those resume with their operation).
func (s *Server) resumeClusters(ctx context.Context) {
	var ids []string
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		ids, err = aks.ResumableClusters(tx)
		return err
	})
	if err != nil {
		s.cfg.Log.Error("resume clusters", "err", err)
		return
	}
	for _, id := range ids {
		go func() {
			if err := s.rec.Resume(ctx, id); err != nil && ctx.Err() == nil {
				s.cfg.Log.Error("resume cluster control plane", "cluster", id, "err", err)
			}
		}()
	}
}

func (s *Server) close() {
	if s.acr != nil {
		s.acr.Close()
	}
	for _, l := range s.listeners {
		l.Close()
	}
	s.listeners = nil
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.cfg.Log.Warn("close store", "err", err)
		}
		s.store = nil
	}
	if s.lock != nil {
		s.lock.Release() //nolint:errcheck // closing the file drops the lock
		s.lock = nil
	}
}

type credential struct {
	ID     string `json:"clientId"`
	Secret string `json:"clientSecret"`
}

// builtinClient is the service principal `localaks az` signs in with,
// created on first start and kept in the store.
func builtinClient(ctx context.Context, st store.Store) (credential, error) {
	var c credential
	err := st.Update(ctx, func(tx store.Tx) error {
		raw, err := tx.GetMeta("builtin_client")
		if err == nil {
			return json.Unmarshal([]byte(raw), &c)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var secret [24]byte
		if _, err := rand.Read(secret[:]); err != nil {
			return err
		}
		c = credential{ID: uuid.NewString(), Secret: hex.EncodeToString(secret[:])}
		data, _ := json.Marshal(c)
		return tx.PutMeta("builtin_client", string(data))
	})
	return c, err
}

func loadOrCreateRSA(path string) (*rsa.PrivateKey, error) {
	if k, err := pki.ReadKey(path); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an RSA key", path)
		}
		return rk, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	if err := pki.WriteKey(path, k); err != nil {
		return nil, err
	}
	return k, nil
}

// systemBundles are where Debian/Ubuntu, Fedora/RHEL and Alpine keep their
// CA bundle.
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}

// writeCABundle writes the system CAs plus the local CA into one file, so
// pointing REQUESTS_CA_BUNDLE or SSL_CERT_FILE at it trusts localaks
// without distrusting everything else.
func writeCABundle(d datadir.Dir, caFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	var bundle []byte
	for _, p := range systemBundles {
		if sys, err := os.ReadFile(p); err == nil {
			bundle = append(sys, '\n')
			break
		}
	}
	bundle = append(bundle, ca...)
	return fsutil.WriteFileAtomic(d.CABundle(), bundle, 0o644)
}

// Banner is what serve prints at start: where it is and how to point
// clients at it.
func (s *Server) Banner(w io.Writer) {
	d, c := s.cfg.DataDir, s.client
	host := strings.TrimPrefix(s.url, "https://")
	// The client commands find this serve through the data dir; name it
	// when they would not find it by default.
	flag := ""
	if def, err := datadir.Resolve(""); err != nil || def.Path != d.Path {
		flag = " --data-dir " + d.Path
	}
	fmt.Fprintf(w, `localaks is serving Azure Resource Manager at %s/
  listening on   %s
  data dir       %s
  local CA       %s   (trust bundle: %s)
  tenant         %s
  subscription   %s
  client         %s (secret in %s)

Use it:
  localaks%s az group list      # the az CLI, already signed in
  eval "$(localaks%s env)"       # variables for the Go SDK, Terraform, az

Or set up az by hand:
  export AZURE_CONFIG_DIR=$HOME/.azure-localaks REQUESTS_CA_BUNDLE=%s
  az cloud register -n localaks --cloud-config '{"endpoints":{"resourceManager":"%s/","microsoftGraphResourceId":"%s/graph/"}}'
  az cloud set -n localaks
  az login --service-principal -u %s -p <secret> --tenant %s

Terraform (azurerm): ARM_METADATA_HOSTNAME=%s with ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_SUBSCRIPTION_ID from localaks env
`, s.url, strings.Join(s.Addresses(), ", "), d.Path, d.CAFile(), d.CABundle(), c.TenantID, c.SubscriptionID, c.ClientID,
		filepath.Join(d.Path, "client.json"), flag, flag, d.CABundle(), s.url, s.url, c.ClientID, c.TenantID, host)
	if s.cfg.Open {
		fmt.Fprintln(w, "\nOpen: any client ID and secret get tokens, and no role assignment is checked.")
	} else {
		fmt.Fprintln(w, "\nOnly the directory's principals sign in, and every ARM request is checked against role assignments (serve --open turns both off).")
	}
}

// selfClient lets template deployments call this server's ARM API as the
// deployment's caller, with tokens this server signs.
func selfClient(url, caFile string, signer *entra.Signer) (*resources.Self, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return &resources.Self{BaseURL: url, Client: client, Token: func(c arm.Caller) (string, error) {
		now := time.Now().UTC()
		return signer.Sign(&entra.Claims{Audience: "https://management.core.windows.net/", Issuer: url + "/" + c.TenantID + "/",
			IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), AppID: c.AppID, ObjectID: c.ObjectID,
			Subject: c.ObjectID, TenantID: c.TenantID, IDType: "app", Version: "1.0"})
	}}, nil
}

// portalARM reads a resource for the portal's JSON view as ARM answers a
// GET of it, in-process, as the built-in principal, at the type's newest
// stable api-version.
func portalARM(h http.Handler, reg *arm.Registry, signer *entra.Signer, base func() string, tenant, client string) portal.ARMGet {
	oid := entra.ServicePrincipalObjectID(tenant, client)
	return func(ctx context.Context, id string) (string, int, []byte) {
		rid, err := resourceid.Parse(id)
		if err != nil {
			return "", http.StatusBadRequest, nil
		}
		version := ""
		if rt := reg.Lookup(rid.Type()); rt != nil {
			for _, v := range rt.APIVersions {
				if len(v) == len("2006-01-02") { // a stable version, not a preview
					version = v
					break
				}
			}
			if version == "" && len(rt.APIVersions) > 0 {
				version = rt.APIVersions[0]
			}
		}
		if version == "" {
			version = "2021-04-01" // ARM's own types (resource groups, subscriptions)
		}
		now := time.Now().UTC()
		tok, err := signer.Sign(&entra.Claims{Audience: arm.ARMAudiences[0], Issuer: base() + "/" + tenant + "/", IssuedAt: now.Unix(),
			NotBefore: now.Unix(), Expiry: now.Add(time.Minute).Unix(), AppID: client, ObjectID: oid, Subject: oid, TenantID: tenant,
			IDType: "app", Version: "1.0"})
		if err != nil {
			return version, http.StatusInternalServerError, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base()+rid.String()+"?api-version="+version, http.NoBody)
		if err != nil {
			return "", http.StatusBadRequest, nil
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return version, rec.Code, rec.Body.Bytes()
	}
}

// enforce is the ARM server's authorizer: the role assignments' check, or
// none.
func enforce(on bool, p *authorization.Provider) arm.Authorizer {
	if !on {
		return nil
	}
	return p.Authorize
}
