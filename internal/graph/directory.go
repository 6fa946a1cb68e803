// Package graph is localaks's Microsoft Entra directory — applications,
// service principals, users and groups with their memberships — kept in
// the store, and the Microsoft Graph surface (v1.0 and beta) through which
// az ad, the SDKs and Terraform manage it. The token service signs
// principals in against it and ARM's role checks read group memberships
// from it.
package graph

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/store"
)

// The directory's collections, named as Graph names them.
const (
	Applications      = "applications"
	ServicePrincipals = "servicePrincipals"
	Users             = "users"
	Groups            = "groups"
)

var collections = []string{Applications, ServicePrincipals, Users, Groups}

// odataTypes are the @odata.type of each collection's objects.
var odataTypes = map[string]string{
	Applications:      "#microsoft.graph.application",
	ServicePrincipals: "#microsoft.graph.servicePrincipal",
	Users:             "#microsoft.graph.user",
	Groups:            "#microsoft.graph.group",
}

// record is what the store keeps for one directory object: the document
// Graph returns, and what Graph never returns.
type record struct {
	Doc map[string]any `json:"doc"`
	// Secrets are the SHA-256 digests (hex) of the object's password
	// credentials' secret text, by keyId; the text itself is not kept.
	Secrets map[string]string `json:"secrets,omitempty"`
	// Password is a user's password, hashed (hashPassword).
	Password string `json:"password,omitempty"`
	// Members and Owners are object IDs (groups; owners also of apps).
	Members []string `json:"members,omitempty"`
	Owners  []string `json:"owners,omitempty"`
	// AppRoleAssignments are the app roles of a (resource) service
	// principal's application given to principals.
	AppRoleAssignments []appRoleAssignment `json:"appRoleAssignments,omitempty"`
	// Admin marks a principal that holds the directory's administrator
	// role (may manage every object through Graph).
	Admin bool `json:"admin,omitempty"`
}

// Object is one directory object.
type Object struct {
	Collection string
	ID         string
	rec        record
}

// Doc is the object as Graph returns it.
func (o *Object) Doc() map[string]any { return o.rec.Doc }

func (o *Object) str(key string) string {
	s, _ := o.rec.Doc[key].(string)
	return s
}

func resourceID(tenantID, collection, id string) string {
	return "/tenants/" + strings.ToLower(tenantID) + "/providers/Microsoft.Graph/" + collection + "/" + strings.ToLower(id)
}

func resourceType(collection string) string { return "Microsoft.Graph/" + collection }

// Directory is the store-backed directory of every tenant.
type Directory struct {
	store store.Store
	now   func() time.Time
}

// New returns the directory kept in st.
func New(st store.Store) *Directory { return &Directory{store: st, now: time.Now} }

func get(tx store.Tx, tenantID, collection, id string) (*Object, error) {
	r, err := tx.Get(resourceID(tenantID, collection, id))
	if err != nil {
		return nil, err
	}
	return decode(collection, r)
}

func decode(collection string, r *store.Resource) (*Object, error) {
	o := &Object{Collection: collection, ID: r.Name}
	if err := json.Unmarshal(r.Properties, &o.rec); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.ID, err)
	}
	return o, nil
}

// find looks an object up by ID in every collection.
func find(tx store.Tx, tenantID, id string) (*Object, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, store.ErrNotFound
	}
	for _, c := range collections {
		o, err := get(tx, tenantID, c, id)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return o, err
		}
	}
	return nil, store.ErrNotFound
}

func list(tx store.Tx, tenantID, collection string) ([]*Object, error) {
	rs, err := tx.List(store.Query{Type: resourceType(collection)})
	if err != nil {
		return nil, err
	}
	prefix := strings.ToLower(resourceID(tenantID, collection, ""))
	out := make([]*Object, 0, len(rs))
	for _, r := range rs {
		if !strings.HasPrefix(strings.ToLower(r.ID), prefix) {
			continue
		}
		o, err := decode(collection, r)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func put(tx store.Tx, tenantID string, o *Object) error {
	props, err := json.Marshal(o.rec)
	if err != nil {
		return err
	}
	if err := tx.Put(&store.Resource{ID: resourceID(tenantID, o.Collection, o.ID), Type: resourceType(o.Collection), Name: strings.ToLower(o.ID), Properties: props}); err != nil {
		return err
	}
	return bump(tx)
}

// metaGeneration counts the directory's writes (with the other writes
// that decide access): memberships read by the role checks of every
// request are cached until it moves.
const metaGeneration = store.AccessGeneration

func generation(tx store.Tx) (string, error) { return store.Generation(tx, metaGeneration) }

func bump(tx store.Tx) error { return store.Bump(tx, metaGeneration) }

// memberships caches, per tenant, which groups each object is a direct
// member of, as of a directory generation.
var memberships struct {
	sync.Mutex
	byTenant map[string]membership
}

type membership struct {
	generation string
	parents    map[string][]string // member → groups
}

func parentsOf(tx store.Tx, tenantID, gen string) (map[string][]string, error) {
	if gen == "" {
		return nil, nil // never written: no groups
	}
	tenantID = strings.ToLower(tenantID)
	memberships.Lock()
	m, ok := memberships.byTenant[tenantID]
	memberships.Unlock()
	if ok && m.generation == gen {
		return m.parents, nil
	}
	groups, err := list(tx, tenantID, Groups)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for _, g := range groups {
		for _, mem := range g.rec.Members {
			parents[strings.ToLower(mem)] = append(parents[strings.ToLower(mem)], g.ID)
		}
	}
	memberships.Lock()
	if memberships.byTenant == nil {
		memberships.byTenant = map[string]membership{}
	}
	memberships.byTenant[tenantID] = membership{generation: gen, parents: parents}
	memberships.Unlock()
	return parents, nil
}

// findBy returns the objects of a collection whose string property key
// equals value (case-insensitively).
func findBy(tx store.Tx, tenantID, collection, key, value string) ([]*Object, error) {
	all, err := list(tx, tenantID, collection)
	if err != nil {
		return nil, err
	}
	var out []*Object
	for _, o := range all {
		if strings.EqualFold(o.str(key), value) {
			out = append(out, o)
		}
	}
	return out, nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// SignIn checks a client ID and secret against the applications of the
// tenant (implements entra.Principals): the application must exist, have a
// service principal in the tenant and a password credential, in its
// validity period, whose secret is this one.
func (d *Directory) SignIn(ctx context.Context, tenantID, clientID, secret string) (string, error) {
	var oid string
	err := d.store.View(ctx, func(tx store.Tx) error {
		apps, err := findBy(tx, tenantID, Applications, "appId", clientID)
		if err != nil {
			return err
		}
		sps, err := findBy(tx, tenantID, ServicePrincipals, "appId", clientID)
		if err != nil {
			return err
		}
		if len(apps) == 0 && len(sps) == 0 {
			return entra.ErrUnknownClient
		}
		if len(sps) == 0 {
			return entra.ErrNoServicePrincipal
		}
		oid = sps[0].ID
		now := d.now()
		expired := false
		for _, o := range append(apps, sps[0]) {
			for _, pc := range credentials(o) {
				want, ok := o.rec.Secrets[pc.KeyID]
				if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(digest(secret))) != 1 {
					continue
				}
				if !pc.End.IsZero() && now.After(pc.End) {
					expired = true
					continue
				}
				return nil
			}
		}
		if expired {
			return entra.ErrSecretExpired
		}
		return entra.ErrBadSecret
	})
	return oid, err
}

type passwordCredential struct {
	KeyID string
	End   time.Time
}

func credentials(o *Object) []passwordCredential {
	raw, _ := o.rec.Doc["passwordCredentials"].([]any)
	var out []passwordCredential
	for _, c := range raw {
		m, _ := c.(map[string]any)
		pc := passwordCredential{}
		pc.KeyID, _ = m["keyId"].(string)
		if s, ok := m["endDateTime"].(string); ok {
			pc.End, _ = time.Parse(time.RFC3339, s)
		}
		out = append(out, pc)
	}
	return out
}

// hashPassword hashes a user's password for keeping: PBKDF2-SHA256 with a
// random salt ("pbkdf2-sha256$iterations$salt$key", base64). Users'
// passwords, unlike the generated client secrets, may be guessable, so
// they get a salted, slow hash.
func hashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, passwordIterations, 32)
	if err != nil {
		panic(err) // only for invalid parameters, which these are not
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// passwordIterations is PBKDF2's work factor: a few milliseconds a
// sign-in.
const passwordIterations = 20000

// checkPassword tells whether password is the one hashed (hashPassword,
// or the unsalted SHA-256 digest earlier versions kept).
func checkPassword(hashed, password string) bool {
	parts := strings.Split(hashed, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return hashed != "" && subtle.ConstantTimeCompare([]byte(hashed), []byte(digest(password))) == 1
	}
	iter, err := strconv.Atoi(parts[1])
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err != nil || err1 != nil || err2 != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// entraUser is a user as the token service sees it; the stamp is derived
// from the password's hash, so a new password voids refresh tokens.
func entraUser(o *Object) entra.User {
	enabled, _ := o.rec.Doc["accountEnabled"].(bool)
	stamp := sha256.Sum256([]byte(o.rec.Password))
	return entra.User{ObjectID: o.ID, UserPrincipalName: o.str("userPrincipalName"), DisplayName: o.str("displayName"),
		Enabled: enabled, Stamp: hex.EncodeToString(stamp[:8])}
}

// SignInUser checks a user's principal name and password (implements
// entra.Users). A user without a password (created without one) cannot
// sign in.
func (d *Directory) SignInUser(ctx context.Context, tenantID, upn, password string) (entra.User, error) {
	var u entra.User
	err := d.store.View(ctx, func(tx store.Tx) error {
		users, err := findBy(tx, tenantID, Users, "userPrincipalName", upn)
		if err != nil {
			return err
		}
		if len(users) == 0 {
			return entra.ErrUnknownUser
		}
		o := users[0]
		u = entraUser(o)
		if !checkPassword(o.rec.Password, password) {
			return entra.ErrBadPassword
		}
		if !u.Enabled {
			return entra.ErrUserDisabled
		}
		return nil
	})
	return u, err
}

// User looks a user up by object ID (implements entra.Users).
func (d *Directory) User(ctx context.Context, tenantID, objectID string) (entra.User, error) {
	var u entra.User
	err := d.store.View(ctx, func(tx store.Tx) error {
		o, err := get(tx, tenantID, Users, objectID)
		if errors.Is(err, store.ErrNotFound) {
			return entra.ErrUnknownUser
		}
		if err != nil {
			return err
		}
		u = entraUser(o)
		return nil
	})
	return u, err
}

// PublicClient tells whether the tenant has an application with this
// client ID and whether it is a public client (implements entra.Users).
func (d *Directory) PublicClient(ctx context.Context, tenantID, clientID string) (known, public bool, err error) {
	err = d.store.View(ctx, func(tx store.Tx) error {
		apps, err := findBy(tx, tenantID, Applications, "appId", clientID)
		if err != nil || len(apps) == 0 {
			return err
		}
		known = true
		public, _ = apps[0].rec.Doc["isFallbackPublicClient"].(bool)
		return nil
	})
	return known, public, err
}

// Known reports whether the service principal with this application ID
// exists in the tenant.
func (d *Directory) Known(ctx context.Context, tenantID, appID string) (bool, error) {
	var ok bool
	err := d.store.View(ctx, func(tx store.Tx) error {
		sps, err := findBy(tx, tenantID, ServicePrincipals, "appId", appID)
		ok = len(sps) > 0
		return err
	})
	return ok, err
}

// EnsureServicePrincipal registers an application and its service
// principal with the given IDs (a principal localaks itself provides: the
// built-in one, those serve is given, or — in open mode — whichever client
// signs in). A non-empty secret becomes its one password credential
// (replacing others); admin gives it the directory's administrator role.
func (d *Directory) EnsureServicePrincipal(tx store.Tx, tenantID, appID, objectID, displayName, secret string, admin bool) error {
	now := d.now().UTC()
	apps, err := findBy(tx, tenantID, Applications, "appId", appID)
	if err != nil {
		return err
	}
	var app *Object
	if len(apps) > 0 {
		app = apps[0]
	} else {
		app = &Object{Collection: Applications, ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("app/"+strings.ToLower(tenantID+"/"+appID))).String()}
		app.rec.Doc = newApplication(app.ID, appID, tenantID, map[string]any{"displayName": displayName}, now)
	}
	if secret != "" {
		keyID := uuid.NewSHA1(uuid.NameSpaceOID, []byte("key/"+strings.ToLower(appID))).String()
		app.rec.Doc["passwordCredentials"] = []any{map[string]any{
			"customKeyIdentifier": nil, "displayName": "localaks", "endDateTime": nil, "hint": hint(secret),
			"keyId": keyID, "secretText": nil, "startDateTime": now.Format(time.RFC3339),
		}}
		app.rec.Secrets = map[string]string{keyID: digest(secret)}
	}
	if err := put(tx, tenantID, app); err != nil {
		return err
	}
	sps, err := findBy(tx, tenantID, ServicePrincipals, "appId", appID)
	if err != nil {
		return err
	}
	var sp *Object
	if len(sps) > 0 {
		sp = sps[0]
	} else {
		sp = &Object{Collection: ServicePrincipals, ID: strings.ToLower(objectID)}
		sp.rec.Doc = newServicePrincipal(sp.ID, app, tenantID, nil, now)
	}
	sp.rec.Admin = admin
	return put(tx, tenantID, sp)
}

// PrincipalType is the type ARM records for a role assignment's principal
// ("User", "Group" or "ServicePrincipal"); ok is false when the directory
// has no such object.
func PrincipalType(tx store.Tx, tenantID, objectID string) (string, bool, error) {
	o, err := find(tx, tenantID, objectID)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	switch o.Collection {
	case Users:
		return "User", true, nil
	case Groups:
		return "Group", true, nil
	case ServicePrincipals:
		return "ServicePrincipal", true, nil
	}
	return "", false, nil
}

// MemberOf is every group the object belongs to, directly or through
// other groups (Entra's transitive membership).
func MemberOf(tx store.Tx, tenantID, objectID string) ([]string, error) {
	gen, err := generation(tx)
	if err != nil {
		return nil, err
	}
	return MemberOfAt(tx, gen, tenantID, objectID)
}

// MemberOfAt is MemberOf for a caller that has read the access generation
// (store.AccessGeneration) in this transaction already.
func MemberOfAt(tx store.Tx, gen, tenantID, objectID string) ([]string, error) {
	parents, err := parentsOf(tx, tenantID, gen)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	queue := []string{strings.ToLower(objectID)}
	var out []string
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, g := range parents[id] {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	return out, nil
}

// Groups is MemberOf in its own read transaction (implements
// entra.Principals, for the groups claim).
func (d *Directory) Groups(ctx context.Context, tenantID, objectID string) ([]string, error) {
	var out []string
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = MemberOf(tx, tenantID, objectID)
		return err
	})
	return out, err
}

// isAdmin reports whether the object holds the directory's administrator
// role.
func isAdmin(tx store.Tx, tenantID, objectID string) (bool, error) {
	o, err := find(tx, tenantID, objectID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return o.rec.Admin, nil
}

// hint is the first three characters of a secret, as Graph shows them.
func hint(secret string) string {
	if len(secret) < 3 {
		return secret
	}
	return secret[:3]
}

const secretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~"

// newSecret makes a client secret in Entra's shape: 40 characters, the
// fourth to sixth of which are a version marker ("8Q~").
func newSecret() string {
	b := make([]byte, 37)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	out := make([]byte, 0, 40)
	for i, c := range b {
		if i == 3 {
			out = append(out, "8Q~"...)
		}
		out = append(out, secretAlphabet[int(c)%len(secretAlphabet)])
	}
	return string(out)
}

// Register records a client that signed in without a check (serve
// --open) as an application with a service principal.
func (d *Directory) Register(ctx context.Context, tenantID, clientID, objectID string) error {
	return d.store.Update(ctx, func(tx store.Tx) error {
		return d.EnsureServicePrincipal(tx, tenantID, clientID, objectID, clientID, "", false)
	})
}

// EnsureUser registers a user (with no password: it cannot sign in)
// unless one with this object ID exists.
func EnsureUser(tx store.Tx, tenantID, objectID, userPrincipalName, displayName string) error {
	if _, err := get(tx, tenantID, Users, objectID); err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	o := &Object{Collection: Users, ID: strings.ToLower(objectID)}
	o.rec.Doc = newUser(o.ID, map[string]any{"displayName": displayName, "userPrincipalName": userPrincipalName,
		"mailNickname": strings.Split(userPrincipalName, "@")[0]})
	return put(tx, tenantID, o)
}

// ServicePrincipalByAppID is the object ID of the service principal of
// application appID in the tenant, if the directory has one.
func ServicePrincipalByAppID(tx store.Tx, tenantID, appID string) (string, bool, error) {
	sps, err := findBy(tx, tenantID, ServicePrincipals, "appId", appID)
	if err != nil || len(sps) == 0 {
		return "", false, err
	}
	return sps[0].ID, true, nil
}
