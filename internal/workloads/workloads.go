// Package workloads renders and applies AKS's system workloads in
// kube-system (CoreDNS, metrics-server, konnectivity, kube-proxy, the CSI
// node drivers, and the network plugin's agents), from an embedded
// template, for the cluster's network configuration.
package workloads

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/nodeapps"
)

//go:embed workloads.yaml
var workloadsYAML string

var workloadsTmpl = template.Must(template.New("workloads.yaml").Option("missingkey=error").Parse(workloadsYAML))

// workloadData is what the workloads template sees.
type workloadData struct {
	Model, Policy, Dataplane string
	DNSServiceIP, PodCIDR    string
	Version, FQDN, Name      string
	AppRouting               bool
	AGIC                     bool
	AGICGateway              string
	WorkloadIdentity         bool
	Registry                 string
	AdminGroups              []string
}

func adminGroups(s *clusterspec.Spec) []string {
	if s.Entra == nil {
		return nil
	}
	return s.Entra.AdminGroups
}

func agicGateway(s *clusterspec.Spec) string {
	if s.AGIC == nil {
		return ""
	}
	return s.AGIC.GatewayID
}

// fieldManager owns the system workloads' fields, as AKS's addon manager
// does.
const fieldManager = "addonmanager"

// Render renders the system workloads for a spec.
func Render(s *clusterspec.Spec) ([]*unstructured.Unstructured, error) {
	var buf bytes.Buffer
	err := workloadsTmpl.Execute(&buf, workloadData{
		Model: s.Network.Model(), Policy: s.Network.Policy, Dataplane: s.Network.Dataplane,
		DNSServiceIP: s.Network.DNSServiceIP, PodCIDR: s.Network.PodCIDR,
		Version: strings.TrimPrefix(s.KubernetesVersion, "v"), FQDN: s.FQDN, Name: s.Name, AppRouting: s.AppRouting, AGIC: s.AGIC != nil, AGICGateway: agicGateway(s),
		WorkloadIdentity: s.WorkloadIdentity, Registry: nodeapps.Registry, AdminGroups: adminGroups(s),
	})
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i, doc := range strings.Split(buf.String(), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("workloads document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// ImageRefs lists the images the system workloads can name for s's
// version, whatever add-ons and network agents it enables now (a running
// node must have the image of an add-on enabled later), sorted, each once.
func ImageRefs(s *clusterspec.Spec) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, net := range []clusterspec.Network{
		s.Network,
		{Plugin: "kubenet"},
		{Plugin: "azure", Policy: "azure"},
		{Plugin: "azure", PluginMode: "overlay", Policy: "cilium", Dataplane: "cilium"},
	} {
		v := *s
		v.Network = net
		v.AppRouting, v.AGIC, v.WorkloadIdentity = true, &clusterspec.AGIC{}, true
		refs, err := renderedImages(&v)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			if !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// renderedImages lists the images of the workloads rendered for s.
func renderedImages(s *clusterspec.Spec) ([]string, error) {
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		for _, field := range [][]string{{"spec", "template", "spec", "containers"}, {"spec", "template", "spec", "initContainers"}} {
			cs, _, _ := unstructured.NestedSlice(o.Object, field...)
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					if ref, _ := m["image"].(string); ref != "" && !seen[ref] {
						seen[ref] = true
						out = append(out, ref)
					}
				}
			}
		}
	}
	return out, nil
}

// applied remembers the last workload set applied in this process, so an
// unchanged set is not re-sent on every spec.
var applied struct {
	sync.Mutex
	sum [32]byte
}

// Apply server-side-applies the system workloads (objects labelled
// addonmanager.kubernetes.io/mode=EnsureExists are only created).
func Apply(ctx context.Context, rc *rest.Config, s *clusterspec.Spec) error {
	objs, err := Render(s)
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, o := range objs {
		b, _ := o.MarshalJSON()
		h.Write(b)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	applied.Lock()
	defer applied.Unlock()
	if applied.sum == sum {
		return nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
		data, err := o.MarshalJSON()
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if ns := o.GetNamespace(); ns != "" {
			ri = dyn.Resource(m.Resource).Namespace(ns)
		}
		if o.GetLabels()["addonmanager.kubernetes.io/mode"] == "EnsureExists" {
			// Created once; users own it afterwards.
			if _, err := ri.Create(ctx, o, metav1.CreateOptions{FieldManager: fieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
			}
			continue
		}
		force := true
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
	}
	if err := prune(ctx, dyn, mapper, objs); err != nil {
		return err
	}
	applied.sum = sum
	return nil
}

// reconcileLabel marks the objects the addon manager reconciles: those not
// in the rendered set any more (a disabled add-on's, another network
// policy's agent) are deleted, as AKS's addon manager prunes them.
const reconcileLabel = "addonmanager.kubernetes.io/mode=Reconcile"

// prune deletes reconciled objects of the template's kinds that the
// rendered set no longer has.
func prune(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, objs []*unstructured.Unstructured) error {
	keep := map[string]bool{}
	for _, o := range objs {
		keep[objectKey(o.GroupVersionKind().GroupKind().String(), o.GetNamespace(), o.GetName())] = true
	}
	kinds, err := allKinds()
	if err != nil {
		return err
	}
	for _, gvk := range kinds {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		list, err := dyn.Resource(m.Resource).List(ctx, metav1.ListOptions{LabelSelector: reconcileLabel})
		if err != nil {
			return err
		}
		for _, o := range list.Items {
			if keep[objectKey(gvk.GroupKind().String(), o.GetNamespace(), o.GetName())] {
				continue
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if ns := o.GetNamespace(); ns != "" {
				ri = dyn.Resource(m.Resource).Namespace(ns)
			}
			if err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("prune %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
			}
		}
	}
	return nil
}

func objectKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// allKinds lists the kinds the template can render, whatever the spec:
// the template rendered with every option on.
func allKinds() ([]schema.GroupVersionKind, error) {
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, s := range []*clusterspec.Spec{
		{Network: clusterspec.Network{Plugin: "kubenet"}, AppRouting: true, AGIC: &clusterspec.AGIC{}, WorkloadIdentity: true, Pools: []clusterspec.Pool{{Mode: "System", Real: true}}},
		{Network: clusterspec.Network{Plugin: "azure", PluginMode: "overlay", Policy: "azure", Dataplane: "cilium"}, AppRouting: true, AGIC: &clusterspec.AGIC{}},
	} {
		objs, err := Render(s)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			gvk := o.GroupVersionKind()
			if !seen[gvk] && o.GetLabels()["addonmanager.kubernetes.io/mode"] == "Reconcile" {
				seen[gvk] = true
				out = append(out, gvk)
			}
		}
	}
	return out, nil
}
