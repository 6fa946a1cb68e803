package aksapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Managed namespaces: the ARM resource is written at once and an
// operation makes the cluster match it (the namespace, its labels and
// annotations, a ResourceQuota and a NetworkPolicy named "default"),
// through the cluster's API server.

const (
	kindNamespaceApply  = "Microsoft.ContainerService/managedClusters/managedNamespaces/apply"
	kindNamespaceDelete = "Microsoft.ContainerService/managedClusters/managedNamespaces/delete"
	// managedByARM marks the namespaces a managed namespace owns.
	managedByARM   = "kubernetes.azure.com/managedByArm"
	namespaceOwner = "aks-managed-namespaces"
)

// errNamespaceGone marks a DELETE of a managed namespace that is not there.
var errNamespaceGone = errors.New("no such managed namespace")

// nsInput is a namespace operation's input.
type nsInput struct {
	ID string `json:"id"`
}

func (p *Provider) registerNamespaces(reg *arm.Registry, rt *arm.ResourceType) {
	t := &arm.Tracked{ResourceType: rt, Store: p.store, Located: true, ValidateName: aks.ValidateNamespaceName, Parent: p.clusterParent,
		Render: func(_ store.Tx, _ *arm.Request, r *store.Resource) (any, error) { return namespaceBody(r) }}
	t.Put = func(ctx context.Context, req *arm.Request) (*arm.Response, error) { return p.putNamespace(ctx, req, t) }
	t.Delete = p.deleteNamespace
	t.Actions = map[string]arm.HandlerFunc{"listCredential": p.namespaceCredential}
	t.Install(reg)

	finish := func(deleting bool) func(tx store.Tx, op *store.Operation) error {
		return func(tx store.Tx, op *store.Operation) error {
			var in nsInput
			if err := json.Unmarshal(op.Input, &in); err != nil {
				return err
			}
			r, err := tx.Get(in.ID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if deleting && op.Status == store.StatusSucceeded {
				_, err := tx.Delete(r.ID)
				return err
			}
			np, err := aks.DecodeNamespace(r)
			if err != nil {
				return err
			}
			if np.Localaks != nil && np.Localaks.Operation != op.ID {
				return nil // a later operation owns it
			}
			np.ProvisioningState, np.Localaks = aks.TerminalState(op.Status), nil
			if r.Properties, err = json.Marshal(np); err != nil {
				return err
			}
			return tx.Put(r)
		}
	}
	run := func(fn func(ctx context.Context, r *store.Resource, np *aks.NamespaceProperties, cs kubernetes.Interface) error) func(context.Context, *store.Operation) (*arm.Outcome, error) {
		return func(ctx context.Context, op *store.Operation) (*arm.Outcome, error) {
			var in nsInput
			if err := json.Unmarshal(op.Input, &in); err != nil {
				return nil, err
			}
			var r *store.Resource
			if err := p.store.View(ctx, func(tx store.Tx) error {
				var err error
				r, err = tx.Get(in.ID)
				return err
			}); err != nil {
				return nil, err
			}
			np, err := aks.DecodeNamespace(r)
			if err != nil {
				return nil, err
			}
			cs, err := p.kubeClient(ctx, resourceid.MustParse(in.ID).Parent())
			if err != nil {
				return nil, err
			}
			return nil, fn(ctx, r, np, cs)
		}
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindNamespaceApply, Run: run(applyNamespace), Finish: finish(false)})
	p.engine.RegisterKind(&arm.OperationKind{Name: kindNamespaceDelete, Run: run(removeNamespace), Finish: finish(true)})
}

// namespaceBody renders a managed namespace.
func namespaceBody(r *store.Resource) (any, error) {
	np, err := aks.PublicNamespace(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": r.ID, "name": r.Name, "type": aks.ManagedNamespaceType, "location": r.Location,
		"tags": r.Tags, "properties": np, "systemData": r.SystemData}, nil
}

// putNamespace writes the managed namespace and starts the operation that
// makes the cluster match it (201 or 200 with an Azure-AsyncOperation).
func (p *Provider) putNamespace(ctx context.Context, req *arm.Request, t *arm.Tracked) (*arm.Response, error) {
	id := req.Route.ID
	if err := aks.ValidateNamespaceName(id.Name()); err != nil {
		return nil, err
	}
	r, err := t.Decode(req, id)
	if err != nil {
		return nil, err
	}
	op, err := p.engine.NewOperation(kindNamespaceApply, id.SubscriptionID(), Namespace, "", id.String(), nsInput{ID: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	status := http.StatusOK
	var body any
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, _, err := aks.Get(tx, id.Parent())
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		existing, err := tx.Get(id.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if existing == nil {
			status = http.StatusCreated
		}
		if err := aks.PrepareNamespace(c, r, existing, op.ID); err != nil {
			return err
		}
		if err := t.Save(ctx, tx, req, r, existing); err != nil {
			return err
		}
		body, err = namespaceBody(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.AsyncOnly(req, op, status, body), nil
}

// deleteNamespace deletes a managed namespace (202; 204 when there is
// none): the namespace itself goes too when its deletePolicy is Delete.
func (p *Provider) deleteNamespace(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	op, err := p.engine.NewOperation(kindNamespaceDelete, id.SubscriptionID(), Namespace, "", id.String(), nsInput{ID: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, _, err := aks.Get(tx, id.Parent())
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		r, err := tx.Get(id.String())
		if errors.Is(err, store.ErrNotFound) {
			return errNamespaceGone
		}
		if err != nil {
			return err
		}
		if err := aks.CheckNamespaceOperation(c); err != nil {
			return err
		}
		np, err := aks.DecodeNamespace(r)
		if err != nil {
			return err
		}
		if !aks.Terminal(np.ProvisioningState) {
			return aks.Error(http.StatusConflict, "OperationNotAllowed", "", "Operation is not allowed: Another operation (%s) is in progress on managed namespace %s, please wait for it to finish before starting a new operation.", np.ProvisioningState, r.Name)
		}
		np.ProvisioningState = aks.StateDeleting
		np.Localaks = &struct {
			Operation string `json:"operation,omitempty"`
		}{op.ID}
		if r.Properties, err = json.Marshal(np); err != nil {
			return err
		}
		return tx.Put(r)
	})
	if errors.Is(err, errNamespaceGone) {
		return arm.NoContent(), nil
	}
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}

// namespaceCredential is the cluster's user kubeconfig with the namespace
// as its context's.
func (p *Provider) namespaceCredential(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	if err := p.store.View(ctx, func(tx store.Tx) error {
		if _, _, err := aks.Get(tx, id.Parent()); err != nil {
			return err
		}
		_, err := tx.Get(id.String())
		if errors.Is(err, store.ErrNotFound) {
			return aks.Error(http.StatusNotFound, "NotFound", "managedNamespaceName", "Managed namespace '%s' was not found in managed cluster %s.", id.Name(), id.Parent().Name())
		}
		return err
	}); err != nil {
		return nil, err
	}
	_, kc, err := p.kubeconfig(ctx, id.Parent(), "clusterUser")
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.Load(kc)
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	for _, c := range cfg.Contexts {
		c.Namespace = id.Name()
	}
	if kc, err = clientcmd.Write(*cfg); err != nil {
		return nil, arm.ErrInternal(err)
	}
	return arm.OK(map[string]any{"kubeconfigs": []map[string]string{{"name": "clusterUser", "value": base64.StdEncoding.EncodeToString(kc)}}}), nil
}

// kubeClient reaches a cluster's API server with its own client
// credential (AKS's, not a user's: it works with local accounts disabled).
func (p *Provider) kubeClient(ctx context.Context, cluster resourceid.ID) (kubernetes.Interface, error) {
	c, err := p.viewCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	if p.Kubeconfig == nil {
		return nil, aks.ErrNoControlPlane(c, ", so its namespaces cannot be managed")
	}
	kc, err := p.Kubeconfig(c, "clusterAdmin")
	if err != nil {
		return nil, err
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// applyNamespace makes the cluster's namespace match the resource: an
// existing namespace the resource does not own yet is adopted as its
// adoptionPolicy says (Never: refused; IfIdentical: only with the same
// labels and annotations; Always).
func applyNamespace(ctx context.Context, r *store.Resource, np *aks.NamespaceProperties, cs kubernetes.Interface) error {
	name := r.Name
	labels := maps.Clone(np.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[managedByARM] = "true"
	cur, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		if cur.Labels[managedByARM] != "true" {
			switch np.AdoptionPolicy {
			case "Always":
			case "IfIdentical":
				for k, v := range np.Labels {
					if cur.Labels[k] != v {
						return aks.Error(http.StatusConflict, "NamespaceNotIdentical", "properties.adoptionPolicy",
							"Namespace %s exists in the cluster with other labels (%s): adoption policy IfIdentical does not adopt it.", name, k)
					}
				}
				for k, v := range np.Annotations {
					if cur.Annotations[k] != v {
						return aks.Error(http.StatusConflict, "NamespaceNotIdentical", "properties.adoptionPolicy",
							"Namespace %s exists in the cluster with other annotations (%s): adoption policy IfIdentical does not adopt it.", name, k)
					}
				}
			default:
				return aks.Error(http.StatusConflict, "NamespaceAlreadyExists", "properties.adoptionPolicy",
					"Namespace %s already exists in the cluster and adoption policy Never does not adopt it.", name)
			}
		}
	}
	// Server-side apply: the labels and annotations the resource no longer
	// has go (those of other managers stay).
	force := true
	if _, err := cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(name).WithLabels(labels).WithAnnotations(np.Annotations),
		metav1.ApplyOptions{FieldManager: namespaceOwner, Force: force}); err != nil {
		return err
	}
	if err := applyQuota(ctx, cs, name, np.DefaultResourceQuota); err != nil {
		return err
	}
	return applyNetworkPolicy(ctx, cs, name, np.DefaultNetworkPolicy)
}

// applyQuota makes the namespace's "default" ResourceQuota the resource's
// (none when it has no quota).
func applyQuota(ctx context.Context, cs kubernetes.Interface, ns string, q *aks.ResourceQuota) error {
	hard := corev1.ResourceList{}
	if q != nil {
		for k, v := range map[corev1.ResourceName]string{corev1.ResourceRequestsCPU: q.CPURequest, corev1.ResourceLimitsCPU: q.CPULimit,
			corev1.ResourceRequestsMemory: q.MemoryRequest, corev1.ResourceLimitsMemory: q.MemoryLimit} {
			if v != "" {
				hard[k] = resource.MustParse(v)
			}
		}
	}
	quotas := cs.CoreV1().ResourceQuotas(ns)
	if len(hard) == 0 {
		if err := quotas.Delete(ctx, "default", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	want := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns, Labels: map[string]string{managedByARM: "true"}},
		Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	cur, err := quotas.Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = quotas.Create(ctx, want, metav1.CreateOptions{FieldManager: namespaceOwner})
		return err
	}
	if err != nil {
		return err
	}
	cur.Spec = want.Spec
	_, err = quotas.Update(ctx, cur, metav1.UpdateOptions{FieldManager: namespaceOwner})
	return err
}

// applyNetworkPolicy makes the namespace's "default" NetworkPolicy the
// resource's rules: DenyAll selects the direction with no rule,
// AllowSameNamespace allows the namespace's pods, AllowAll everything.
func applyNetworkPolicy(ctx context.Context, cs kubernetes.Interface, ns string, np *aks.NetworkPolicies) error {
	spec := networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}
	same := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}
	switch np.Ingress {
	case "AllowAll":
		spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
	case "AllowSameNamespace":
		spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: same}}
	}
	switch np.Egress {
	case "AllowAll":
		spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
	case "AllowSameNamespace":
		spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: same}}
	}
	policies := cs.NetworkingV1().NetworkPolicies(ns)
	want := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns, Labels: map[string]string{managedByARM: "true"}}, Spec: spec}
	cur, err := policies.Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = policies.Create(ctx, want, metav1.CreateOptions{FieldManager: namespaceOwner})
		return err
	}
	if err != nil {
		return err
	}
	cur.Spec = spec
	_, err = policies.Update(ctx, cur, metav1.UpdateOptions{FieldManager: namespaceOwner})
	return err
}

// removeNamespace deletes the cluster's namespace when the resource's
// deletePolicy is Delete; Keep leaves it (without the resource's mark).
func removeNamespace(ctx context.Context, r *store.Resource, np *aks.NamespaceProperties, cs kubernetes.Interface) error {
	if np.DeletePolicy == "Delete" {
		if err := cs.CoreV1().Namespaces().Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", r.Name, err)
		}
		return nil
	}
	cur, err := cs.CoreV1().Namespaces().Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	delete(cur.Labels, managedByARM)
	_, err = cs.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{FieldManager: namespaceOwner})
	return err
}
