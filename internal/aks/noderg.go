package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/authorization"
	"github.com/localaks/localaks/internal/provider/resources"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Step: the node resource group, its tags and its lockdown.

func (r *Reconciler) ensureNodeRG(ctx context.Context, tx store.Tx, s *state) error {
	id := resourceid.ResourceGroup(s.sub, s.rg)
	existing, err := tx.Get(id.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cid := resourceid.MustParse(s.c.Record.ID)
	rg := &store.Resource{ID: id.String(), Name: s.rg, Location: s.c.Record.Location,
		ManagedBy: rgResourceID(s.sub, cid.ResourceGroupName(), Namespace, "managedClusters", cid.Name()), Tags: nodeRGTags(s.c)}
	return resources.SaveGroup(tx, rg, existing, arm.Platform, time.Now())
}

// nodeRGTags are the cluster's tags plus AKS's own.
func nodeRGTags(c *Cluster) map[string]string {
	cid := resourceid.MustParse(c.Record.ID)
	tags := map[string]string{"aks-managed-cluster-name": cid.Name(), "aks-managed-cluster-rg": cid.ResourceGroupName()}
	for k, v := range c.Record.Tags {
		tags[k] = v
	}
	return tags
}

// clusterTags are the tags AKS propagates to node-resource-group resources.
func clusterTags(c *Cluster) map[string]string {
	tags := map[string]string{}
	for k, v := range c.Record.Tags {
		tags[k] = v
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// ensureLockdown keeps the deny assignment of restrictionLevel ReadOnly in
// step with the profile.
func (r *Reconciler) ensureLockdown(ctx context.Context, tx store.Tx, s *state) error {
	rg := resourceid.ResourceGroup(s.sub, s.rg)
	name := uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.ToLower(s.c.Record.ID)+"/lockdown")).String()
	id := rg.String() + "/providers/" + arm.DenyAssignmentType + "/" + name
	readOnly := s.c.Props.NodeResourceGroupProfile != nil && s.c.Props.NodeResourceGroupProfile.RestrictionLevel == "ReadOnly"
	if !readOnly {
		_, err := tx.Delete(id)
		return err
	}
	exclude := []arm.DenyPrincipal{}
	var ident struct {
		PrincipalID string `json:"principalId"`
	}
	if len(s.c.Record.Identity) > 0 { // clusters without identity exclude none
		if err := json.Unmarshal(s.c.Record.Identity, &ident); err != nil {
			return fmt.Errorf("decode identity of %s: %w", s.c.Record.ID, err)
		}
	}
	if ident.PrincipalID != "" {
		exclude = append(exclude, arm.DenyPrincipal{ID: ident.PrincipalID, Type: "ServicePrincipal"})
	}
	if k := s.c.Props.IdentityProfile["kubeletidentity"]; k != nil && k.ObjectID != "" {
		exclude = append(exclude, arm.DenyPrincipal{ID: k.ObjectID, Type: "ServicePrincipal"})
	}
	props := arm.DenyAssignmentProperties{
		DenyAssignmentName: "AKS Node Resource Group Lockdown " + s.c.Record.Name,
		Description:        "Denies writes to the node resource group of an AKS cluster with restrictionLevel ReadOnly.",
		Permissions:        []arm.DenyPermission{{Actions: []string{"*"}, NotActions: []string{"*/read", "Microsoft.Network/*/join/action"}}},
		Scope:              rg.String(),
		Principals:         []arm.DenyPrincipal{{ID: arm.EveryoneID, Type: "SystemDefined"}},
		ExcludePrincipals:  exclude,
		IsSystemProtected:  true,
	}
	return tx.Put(&store.Resource{ID: id, Type: arm.DenyAssignmentType, Name: name, Properties: mustJSON(props)})
}

// ensureControlPlaneRole gives the cluster's control-plane identity
// Contributor on the node resource group, as AKS does: the cloud
// controller, the cluster autoscaler and the ingress controller change the
// load balancer, public IPs, security group, scale sets and gateway there
// as that identity (and are checked). Anything
// outside the node resource group (a virtual network brought along) needs
// the roles the user gives it, as on AKS.
func (r *Reconciler) ensureControlPlaneRole(ctx context.Context, tx store.Tx, s *state) error {
	principal, _ := s.c.Principal()
	if principal == "" && s.c.Props.Localaks != nil && s.c.Props.Localaks.CloudClientID != "" {
		principal = cloudObjectID(tx, s.c) // what its tokens carry (CloudCredential)
	}
	if principal == "" {
		return nil
	}
	return authorization.EnsureAssignment(tx, resourceid.ResourceGroup(s.sub, s.rg).String(), principal, authorization.ContributorRoleID, time.Now())
}
