package aks

import (
	"context"
	"strings"

	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Steps: the kubelet identity and the add-ons' identities in the node resource group.

func (r *Reconciler) ensureKubeletIdentity(ctx context.Context, tx store.Tx, s *state) error {
	if s.c.Record.Identity == nil {
		return nil // service principal cluster
	}
	if k := s.c.Props.IdentityProfile["kubeletidentity"]; k != nil && k.ResourceID != "" && !strings.Contains(strings.ToLower(k.ResourceID), strings.ToLower("/resourcegroups/"+s.rg+"/")) {
		return nil // bring-your-own kubelet identity
	}
	name := kubeletIdentityName(s.c.Record.Name)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: id.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	if s.c.Props.IdentityProfile == nil {
		s.c.Props.IdentityProfile = map[string]*UserAssignedIdentity{}
	}
	s.c.Props.IdentityProfile["kubeletidentity"] = &UserAssignedIdentity{
		ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID:   props.ClientID, ObjectID: props.PrincipalID,
	}
	s.c.Props.Localaks.KubeletIdentity = id.String()
	s.dirty = true
	return nil
}

// appRoutingIdentityName is the application routing add-on's identity in
// the node resource group.
func appRoutingIdentityName(cluster string) string { return "webapprouting-" + cluster }

// ensureAddonIdentities creates the identities of enabled add-ons in the
// node resource group (and removes those of disabled ones), and shows them
// on the cluster, as AKS does.
func (r *Reconciler) ensureAddonIdentities(ctx context.Context, tx store.Tx, s *state) error {
	name := appRoutingIdentityName(s.c.Record.Name)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	if !s.c.Props.AppRoutingEnabled() {
		if s.c.Props.IngressProfile != nil && s.c.Props.IngressProfile.WebAppRouting != nil && s.c.Props.IngressProfile.WebAppRouting.Identity != nil {
			s.c.Props.IngressProfile.WebAppRouting.Identity = nil
			s.dirty = true
		}
		if err := r.Identity.Identities.RemoveID(tx, id.String()); err != nil {
			return err
		}
		return nil
	}
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: id.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	want := &UserAssignedIdentity{ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID: props.ClientID, ObjectID: props.PrincipalID}
	w := s.c.Props.IngressProfile.WebAppRouting
	if cur := w.Identity; cur == nil || *cur != *want {
		w.Identity = want
		s.dirty = true
	}
	if w.Nginx == nil || w.Nginx.DefaultIngressControllerType == "" {
		w.Nginx = &WebAppRoutingNginx{DefaultIngressControllerType: "AnnotationControlled"}
		s.dirty = true
	}
	return nil
}
