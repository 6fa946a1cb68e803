// Package azurerbac is Azure RBAC for Kubernetes: the authorization
// webhook an Entra ID cluster's API server asks (AKS runs guard for it)
// whether an Entra principal may do a Kubernetes request, answered from
// the role assignments ARM keeps — the data actions of roles such as Azure
// Kubernetes Service RBAC Reader/Writer/Admin/Cluster Admin, assigned at
// the cluster (or above) or at one of its namespaces, to the principal or
// a group it belongs to.
package azurerbac

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	authzv1 "k8s.io/api/authorization/v1"

	"github.com/localaks/localaks/internal/entra"
	"github.com/localaks/localaks/internal/provider/authorization"
	"github.com/localaks/localaks/internal/store"
)

// Prefix is where the webhook is served: {Prefix}{cluster resourceUID}.
const Prefix = "/localaks/azure-rbac/"

// audience is the audience of the API servers' webhook tokens.
const audience = "localaks-azure-rbac"

// DenyReason is guard's answer when no role assignment allows a request.
const DenyReason = "User does not have access to the resource in Azure. Update role assignment to allow access."

// Token is the bearer token cluster uid's API server presents: a
// long-lived token for this webhook only, signed by localaks's Entra key.
func Token(signer *entra.Signer, uid string) (string, error) {
	now := time.Now().UTC()
	return signer.Sign(&entra.Claims{Audience: audience, Subject: uid, Issuer: "localaks", IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Expiry: now.AddDate(10, 0, 0).Unix(), Version: "1.0"})
}

// verbs map Kubernetes verbs to the last segment of AKS's data actions.
var verbs = map[string]string{
	"get": "read", "list": "read", "watch": "read",
	"create": "write", "update": "write", "patch": "write",
	"delete": "delete", "deletecollection": "delete",
}

// DataAction is the data action AKS checks for a resource request:
// Microsoft.ContainerService/managedClusters/[{group}/]{resource}[/{subresource}]/{read|write|delete},
// or …/{verb}/action for other verbs (impersonate, bind, escalate, use)
// and for creating a subresource (pods/exec, pods/portforward …).
func DataAction(ra *authzv1.ResourceAttributes) string {
	parts := []string{"Microsoft.ContainerService/managedClusters"}
	if ra.Group != "" {
		parts = append(parts, ra.Group)
	}
	parts = append(parts, ra.Resource)
	if ra.Subresource != "" {
		parts = append(parts, ra.Subresource)
	}
	v, ok := verbs[ra.Verb]
	switch {
	case ra.Subresource != "" && ra.Verb == "create" && ra.Resource == "pods":
		v = "action"
	case !ok:
		parts = append(parts, ra.Verb)
		v = "action"
	}
	return strings.Join(append(parts, v), "/")
}

// Handler answers SubjectAccessReviews.
type Handler struct {
	Store  store.Store
	Signer *entra.Signer
	Log    *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uid := strings.TrimPrefix(r.URL.Path, Prefix)
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	claims, err := h.Signer.Validate(strings.TrimSpace(tok), time.Now())
	if !strings.EqualFold(scheme, "Bearer") || err != nil || claims.Audience != audience || claims.Subject != uid || uid == "" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST a SubjectAccessReview", http.StatusMethodNotAllowed)
		return
	}
	var sar authzv1.SubjectAccessReview
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&sar); err != nil {
		http.Error(w, "malformed SubjectAccessReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	allowed, reason, err := h.decide(r.Context(), uid, &sar.Spec)
	if err != nil {
		h.Log.Error("azure rbac", "cluster", uid, "err", err)
		// An error is no opinion: RBAC still decides (failurePolicy).
		reason = "Azure RBAC check failed: " + err.Error()
	}
	sar.Status = authzv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
	if sar.APIVersion == "" {
		sar.APIVersion, sar.Kind = "authorization.k8s.io/v1", "SubjectAccessReview"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(sar) //nolint:errcheck // the API server went away
}

// decide looks for a role assignment granting the request's data action
// at the cluster (or above) or, for a namespaced request, at its
// namespace. Requests it does not judge (non-resource URLs, principals
// with no object ID) get no opinion.
func (h *Handler) decide(ctx context.Context, uid string, spec *authzv1.SubjectAccessReviewSpec) (bool, string, error) {
	ra := spec.ResourceAttributes
	if ra == nil || spec.UID == "" {
		return false, "", nil
	}
	action := DataAction(ra)
	var allowed bool
	err := h.Store.View(ctx, func(tx store.Tx) error {
		cluster, err := clusterByUID(tx, uid)
		if err != nil {
			return err
		}
		scope := cluster
		if ra.Namespace != "" {
			scope += "/namespaces/" + ra.Namespace
		}
		allowed, err = authorization.Permits(tx, spec.UID, scope, action)
		return err
	})
	if err != nil || allowed {
		return allowed, "", err
	}
	return false, DenyReason, nil
}

// clusterByUID finds the managed cluster whose resourceUID is uid.
func clusterByUID(tx store.Tx, uid string) (string, error) {
	rs, err := tx.List(store.Query{Type: "Microsoft.ContainerService/managedClusters"})
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		var props struct {
			ResourceUID string `json:"resourceUID"`
		}
		if json.Unmarshal(r.Properties, &props) == nil && props.ResourceUID == uid {
			return r.ID, nil
		}
	}
	return "", errors.New("no managed cluster has resourceUID " + uid)
}
