package aksapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/supervisor"
)

// clusterOp starts a cluster-wide operation of kind (202 with
// Azure-AsyncOperation and Location, as AKS answers POST actions).
func (p *Provider) clusterOp(ctx context.Context, req *arm.Request, kind string, action aks.ClusterAction) (*arm.Response, error) {
	id := req.Route.ID
	op, err := p.engine.NewOperation(kind, id.SubscriptionID(), Namespace, "", id.String(), opInput{Cluster: id.String()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, err := aks.BeginClusterAction(tx, id, action, op.ID)
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		return aks.Save(tx, c, pools...)
	})
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}

func (p *Provider) stopCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.clusterOp(ctx, req, kindClusterStop, aks.Stop)
}

func (p *Provider) startCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.clusterOp(ctx, req, kindClusterStart, aks.Start)
}

func (p *Provider) rotateCertificates(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.clusterOp(ctx, req, kindClusterRotate, aks.RotateCertificates)
}

func (p *Provider) rotateServiceAccountKeys(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.clusterOp(ctx, req, kindClusterRotateKeys, aks.RotateServiceAccountKeys)
}

func (p *Provider) resetServicePrincipal(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in aks.ServicePrincipalProfile
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	action, err := aks.ResetServicePrincipal(in)
	if err != nil {
		return nil, err
	}
	return p.clusterOp(ctx, req, kindClusterReconcile, action)
}

func (p *Provider) resetAADProfile(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	c, err := p.viewCluster(ctx, req.Route.ID)
	if err != nil {
		return nil, err
	}
	return nil, aks.ResetAADProfile(c)
}

// abortCluster cancels the cluster's running operation (204); with none
// running, 409.
func (p *Provider) abortCluster(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var running string
	err := p.store.Update(ctx, func(tx store.Tx) error {
		c, op, err := aks.BeginAbortCluster(tx, req.Route.ID)
		if err != nil {
			return err
		}
		running = op
		return aks.Save(tx, c)
	})
	if err != nil {
		return nil, err
	}
	if err := p.engine.Cancel(ctx, running); err != nil {
		return nil, arm.ErrInternal(err)
	}
	return arm.NoContent(), nil
}

// abortPool cancels a pool's running operation.
func (p *Provider) abortPool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var running string
	err := p.store.Update(ctx, func(tx store.Tx) error {
		pool, op, err := aks.BeginAbortPool(tx, req.Route.ID)
		if err != nil {
			return err
		}
		running = op
		return aks.Save(tx, nil, pool)
	})
	if err != nil {
		return nil, err
	}
	if err := p.engine.Cancel(ctx, running); err != nil {
		return nil, arm.ErrInternal(err)
	}
	return arm.NoContent(), nil
}

// poolOp starts an operation on one pool.
func (p *Provider) poolOp(ctx context.Context, req *arm.Request, action aks.PoolAction) (*arm.Response, error) {
	return p.poolOpOn(ctx, req, req.Route.ID, action)
}

// poolOpOn runs action as pool id's operation, for req (which may address
// another resource: the pool's scale set).
func (p *Provider) poolOpOn(ctx context.Context, req *arm.Request, id resourceid.ID, action aks.PoolAction) (*arm.Response, error) {
	op, err := p.engine.NewOperation(kindPoolReconcile, id.SubscriptionID(), Namespace, "", id.String(),
		opInput{Cluster: aks.ClusterOf(id).String(), Pool: id.Name()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	var body *poolBody
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		pool, c, err := p.rules.BeginPoolAction(tx, id, action, op.ID)
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		if err := aks.Save(tx, nil, pool); err != nil {
			return err
		}
		body, err = renderPool(pool)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, body), nil
}

// ScaleSetOwner carries out a client's change to a pool's scale set — a
// capacity PUT, a delete of instances: what the cluster autoscaler does —
// as the pool's own operation (package compute's Owned): a scale to the
// capacity, or the removal of those machines. Scale sets of no pool are
// left to compute.
func (p *Provider) ScaleSetOwner(ctx context.Context, req *arm.Request, vmssID string, change compute.OwnedChange) (*arm.Response, bool, error) {
	var poolID string
	var names []string
	err := p.store.View(ctx, func(tx store.Tx) error {
		pool, err := aks.PoolOfScaleSet(tx, vmssID)
		if err != nil || pool == nil {
			return err
		}
		poolID = pool.Record.ID
		if change.Capacity != nil {
			return nil
		}
		recs, props, err := p.rules.Compute.Instances(tx, vmssID)
		if err != nil {
			return err
		}
		want := map[string]bool{}
		for _, id := range change.InstanceIDs {
			want[id] = true
		}
		for i, r := range recs {
			if want[r.Name] {
				names = append(names, props[i].OSProfile.ComputerName)
				delete(want, r.Name)
			}
		}
		for id := range want {
			return arm.Errorf(http.StatusNotFound, "NotFound", "The instance %s of scale set %s was not found.", id, vmssID).WithTarget("instanceIds")
		}
		return nil
	})
	if err != nil || poolID == "" {
		return nil, err != nil, err
	}
	var action aks.PoolAction
	if change.Capacity != nil {
		action = aks.ScaleTo(*change.Capacity)
	} else if action, err = aks.DeleteMachines(names); err != nil {
		return nil, true, err
	}
	resp, err := p.poolOpOn(ctx, req, resourceid.MustParse(poolID), action)
	if resp != nil {
		resp.Body = nil
	}
	return resp, true, err
}

func (p *Provider) upgradeNodeImage(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.poolOp(ctx, req, aks.UpgradeNodeImage)
}

func (p *Provider) deleteMachines(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		MachineNames []string `json:"machineNames"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	action, err := aks.DeleteMachines(in.MachineNames)
	if err != nil {
		return nil, err
	}
	return p.poolOp(ctx, req, action)
}

// viewCluster reads the cluster a request addresses.
func (p *Provider) viewCluster(ctx context.Context, id resourceid.ID) (*aks.Cluster, error) {
	var c *aks.Cluster
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		c, _, err = aks.Get(tx, id)
		return err
	})
	return c, err
}

// listCredential serves listClusterUser/Admin/MonitoringUserCredential.
// Without a running Kubernetes control plane there is no kubeconfig to
// give, so localaks says so rather than inventing one.
func (p *Provider) listCredential(role string) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		_, kc, err := p.kubeconfig(ctx, req.Route.ID, role)
		if err != nil {
			return nil, err
		}
		return &arm.Response{Status: http.StatusOK, Body: map[string]any{
			"kubeconfigs": []map[string]string{{"name": role, "value": base64.StdEncoding.EncodeToString(kc)}},
		}}, nil
	}
}

// kubeconfig is a cluster's kubeconfig for a credential role, refused as
// AKS refuses it (local accounts disabled, no control plane yet).
func (p *Provider) kubeconfig(ctx context.Context, clusterID resourceid.ID, role string) (*aks.Cluster, []byte, error) {
	c, err := p.viewCluster(ctx, clusterID)
	if err != nil {
		return nil, nil, err
	}
	if err := aks.CheckCredential(c, role); err != nil {
		return nil, nil, err
	}
	if p.Kubeconfig == nil {
		return nil, nil, aks.ErrNoControlPlane(c, ", so there is no kubeconfig for "+role)
	}
	kc, err := p.Kubeconfig(c, role)
	if tenant := aks.EntraTenant(c); err == nil && tenant != "" && role != "clusterAdmin" {
		// Entra ID clusters' users sign in with kubelogin.
		kc, err = supervisor.EntraKubeconfig(kc, tenant)
	}
	if err != nil {
		p.log.Warn("kubeconfig", "cluster", c.Record.ID, "err", err)
		return nil, nil, aks.Error(http.StatusConflict, "ControlPlaneNotReady", "",
			"The control plane of managed cluster %s is not provisioned yet (provisioning state %s); try again when the cluster has been created.", c.Record.Name, c.Props.ProvisioningState)
	}
	return c, kc, nil
}

// accessProfile serves the deprecated GetAccessProfile (POST
// accessProfiles/{clusterUser|clusterAdmin}/listCredential): the role's
// kubeconfig in a tracked-resource envelope.
func (p *Provider) accessProfile(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	role := req.Route.ID.Name()
	if role != "clusterUser" && role != "clusterAdmin" {
		return nil, aks.Error(http.StatusNotFound, "NotFound", "roleName",
			"Access profile '%s' was not found: the access profiles are clusterUser and clusterAdmin.", role)
	}
	c, kc, err := p.kubeconfig(ctx, req.Route.ID.Parent(), role)
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK, Body: map[string]any{
		"id": req.Route.ID.String(), "name": role, "type": Namespace + "/managedClusters/accessProfiles", "location": c.Record.Location,
		"properties": map[string]string{"kubeConfig": base64.StdEncoding.EncodeToString(kc)},
	}}, nil
}

// runInput is a runCommand operation's input.
type runInput struct {
	Cluster string `json:"cluster"`
	Command string `json:"command"`
	Context string `json:"context,omitempty"`
}

// runCommand starts a command against the cluster's API server: 202 with
// a Location at commandResults/{id}, as AKS answers.
func (p *Provider) runCommand(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		Command      string `json:"command"`
		Context      string `json:"context"`
		ClusterToken string `json:"clusterToken"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if err := aks.ValidateRunCommand(in.Command, in.Context); err != nil {
		return nil, err
	}
	c, err := p.viewCluster(ctx, req.Route.ID)
	if err != nil {
		return nil, err
	}
	if err := aks.CheckRunCommand(c); err != nil {
		return nil, err
	}
	if p.Exec == nil {
		return nil, aks.ErrNoControlPlane(c, " to run commands against")
	}
	op, err := p.engine.NewOperation(kindRunCommand, req.Route.ID.SubscriptionID(), Namespace, c.Record.Location, c.Record.ID,
		runInput{Cluster: c.Record.ID, Command: in.Command, Context: in.Context})
	if err != nil {
		return nil, err
	}
	op.ID = aks.RandomHex(16)
	if err := p.engine.Submit(ctx, op, nil); err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Location", req.BaseURL+c.Record.ID+"/commandResults/"+op.ID+"?api-version="+req.APIVersion)
	h.Set("Retry-After", strconv.Itoa(p.engine.RetryAfter()))
	return &arm.Response{Status: http.StatusAccepted, Header: h}, nil
}

// runCommandResult is a command's result as commandResults shows it (AKS
// spells the states in lower case here).
func runCommandResult(op *store.Operation) map[string]any {
	props := map[string]any{"provisioningState": "Running", "startedAt": op.StartTime.Format(time.RFC3339)}
	if op.Terminal() {
		var res map[string]any
		if len(op.Result) > 0 && json.Unmarshal(op.Result, &res) == nil {
			if rp, ok := res["properties"].(map[string]any); ok {
				props = rp
			}
		}
		if op.Status != store.StatusSucceeded {
			props["provisioningState"] = "Failed"
			if op.Error != nil {
				props["reason"] = op.Error.Message
			}
			props["finishedAt"] = op.EndTime.Format(time.RFC3339)
		}
	}
	return map[string]any{"id": op.ID, "properties": props}
}

// execCommand is the runCommand operation: the command's output and exit
// code are its result, whatever the exit code.
func (p *Provider) execCommand(ctx context.Context, op *store.Operation) (*arm.Outcome, error) {
	var in runInput
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return nil, err
	}
	var c *aks.Cluster
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		c, _, err = aks.Load(tx, in.Cluster)
		return err
	})
	if err != nil {
		return nil, err
	}
	zipped, err := base64.StdEncoding.DecodeString(in.Context)
	if err != nil {
		return nil, fmt.Errorf("runCommand context: %w", err)
	}
	code, logs, err := p.Exec(ctx, c, in.Command, zipped)
	if err != nil {
		return nil, err
	}
	return &arm.Outcome{Body: map[string]any{"id": op.ID, "properties": map[string]any{
		"provisioningState": "Succeeded", "exitCode": code, "logs": logs,
		"startedAt": op.StartTime.Format(time.RFC3339), "finishedAt": time.Now().UTC().Format(time.RFC3339),
	}}}, nil
}

// commandResult serves GET commandResults/{id}: 202 with a Location while
// the command runs, then 200 with its result.
func (p *Provider) commandResult(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID.Name()
	cluster := req.Route.ID.Parent().String()
	var op *store.Operation
	err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		op, err = tx.GetOperation(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && (op.Kind != kindRunCommand || !strings.EqualFold(op.ResourceID, cluster))) {
		return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Command result %s was not found.", id)
	} else if err != nil {
		return nil, err
	}
	if !op.Terminal() {
		h := http.Header{}
		h.Set("Location", req.BaseURL+op.ResourceID+"/commandResults/"+op.ID+"?api-version="+req.APIVersion)
		h.Set("Retry-After", strconv.Itoa(p.engine.RetryAfter()))
		return &arm.Response{Status: http.StatusAccepted, Header: h, Body: runCommandResult(op)}, nil
	}
	return arm.OK(runCommandResult(op)), nil
}

// clusterUpgradeProfile serves upgradeProfiles/default.
func (p *Provider) clusterUpgradeProfile(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	if !strings.EqualFold(req.Route.ID.Name(), "default") {
		return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Upgrade profile %s was not found; the only one is 'default'.", req.Route.ID.Name())
	}
	var body map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		c, pools, err := aks.Get(tx, aks.ClusterOf(req.Route.ID))
		if err != nil {
			return err
		}
		upgrades := func(v string) []map[string]any {
			out := []map[string]any{}
			for _, u := range aks.Versions.Upgrades(v) {
				out = append(out, map[string]any{"kubernetesVersion": u, "isPreview": false})
			}
			return out
		}
		var poolProfiles []map[string]any
		for _, pool := range pools {
			poolProfiles = append(poolProfiles, map[string]any{"kubernetesVersion": pool.Props.CurrentOrchestratorVersion, "name": pool.Record.Name,
				"osType": pool.Props.OSType, "upgrades": upgrades(pool.Props.CurrentOrchestratorVersion)})
		}
		body = map[string]any{
			"id": c.Record.ID + "/upgradeprofiles/default", "name": "default", "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
			"properties": map[string]any{
				"controlPlaneProfile": map[string]any{"kubernetesVersion": c.Props.CurrentKubernetesVersion, "name": "master", "osType": "Linux",
					"upgrades": upgrades(c.Props.CurrentKubernetesVersion)},
				"agentPoolProfiles": poolProfiles,
			},
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

// poolUpgradeProfile serves agentPools/{pool}/upgradeProfiles/default.
func (p *Provider) poolUpgradeProfile(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		c, _, pool, err := aks.GetPool(tx, req.Route.ID.Parent())
		if err != nil {
			return err
		}
		var ups []map[string]any
		for _, u := range aks.Versions.Upgrades(pool.Props.CurrentOrchestratorVersion) {
			if aks.Compare(u, c.Props.CurrentKubernetesVersion) <= 0 {
				ups = append(ups, map[string]any{"kubernetesVersion": u, "isPreview": false})
			}
		}
		if ups == nil {
			ups = []map[string]any{}
		}
		body = map[string]any{
			"id": pool.Record.ID + "/upgradeProfiles/default", "name": "default", "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
			"properties": map[string]any{"kubernetesVersion": pool.Props.CurrentOrchestratorVersion, "osType": pool.Props.OSType,
				"upgrades": ups, "latestNodeImageVersion": aks.Versions.NodeImage},
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

// availablePoolVersions serves availableAgentPoolVersions.
func (p *Provider) availablePoolVersions(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var c *aks.Cluster
	if err := p.store.View(ctx, func(tx store.Tx) error {
		var err error
		c, _, err = aks.Get(tx, req.Route.ID)
		return err
	}); err != nil {
		return nil, err
	}
	var versions []map[string]any
	for _, m := range aks.Versions.Minors {
		for _, v := range m.Patches {
			if aks.Compare(v, c.Props.CurrentKubernetesVersion) <= 0 {
				versions = append(versions, map[string]any{"kubernetesVersion": v, "isPreview": m.Preview,
					"default": v == aks.Versions.DefaultPatch()})
			}
		}
	}
	return arm.OK(map[string]any{
		"id": c.Record.ID + "/availableagentpoolversions", "name": "default", "type": "Microsoft.ContainerService/managedClusters/availableAgentpoolVersions",
		"properties": map[string]any{"agentPoolVersions": versions},
	}), nil
}

// machine renders a pool's instance as an AKS machine.
func machine(poolID string, inst *store.Resource, props *compute.InstanceProperties) map[string]any {
	m := map[string]any{
		"id": poolID + "/machines/" + props.OSProfile.ComputerName, "name": props.OSProfile.ComputerName,
		"type": "Microsoft.ContainerService/managedClusters/agentPools/machines",
		"properties": map[string]any{
			"network":    map[string]any{"ipAddresses": []map[string]string{{"family": "IPv4", "ip": props.Localaks.PrivateIP}}},
			"resourceId": inst.ID,
		},
	}
	if len(inst.Zones) > 0 {
		m["zones"] = inst.Zones
	}
	return m
}

func (p *Provider) machines(ctx context.Context, poolID resourceid.ID) ([]map[string]any, error) {
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, _, pool, err := aks.GetPool(tx, poolID)
		if err != nil {
			return err
		}
		if pool.Props.Localaks.VMSS == "" {
			return nil
		}
		recs, props, err := p.rec.Compute.Instances(tx, pool.Props.Localaks.VMSS)
		if err != nil {
			return err
		}
		for i := range recs {
			out = append(out, machine(pool.Record.ID, recs[i], &props[i]))
		}
		return nil
	})
	return out, err
}

func (p *Provider) listMachines(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	out, err := p.machines(ctx, req.Route.ID)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []map[string]any{}
	}
	return arm.OK(arm.List{Value: out}), nil
}

func (p *Provider) getMachine(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	out, err := p.machines(ctx, req.Route.ID.Parent())
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		if strings.EqualFold(m["name"].(string), req.Route.ID.Name()) {
			return arm.OK(m), nil
		}
	}
	return nil, arm.ErrResourceNotFound("Microsoft.ContainerService/managedClusters/agentPools/machines", req.Route.ID.Name(), req.Route.ID.ResourceGroupName())
}

// kubernetesVersions serves locations/{loc}/kubernetesVersions (the
// "values" shape).
func (p *Provider) kubernetesVersions(_ context.Context, req *arm.Request) (*arm.Response, error) {
	var values []map[string]any
	for _, m := range aks.Versions.Minors {
		patches := map[string]any{}
		for _, v := range m.Patches {
			ups := aks.Versions.Upgrades(v)
			if ups == nil {
				ups = []string{}
			}
			patches[v] = map[string]any{"upgrades": ups}
		}
		values = append(values, map[string]any{"version": m.Minor, "isDefault": aks.Versions.IsDefaultMinor(m.Minor), "isPreview": m.Preview,
			"capabilities": map[string]any{"supportPlan": m.SupportPlan}, "patchVersions": patches})
	}
	return arm.OK(map[string]any{"values": values}), nil
}

// orchestrators serves the legacy locations/{loc}/orchestrators list, which
// az 2.45's get-versions uses.
func (p *Provider) orchestrators(_ context.Context, req *arm.Request) (*arm.Response, error) {
	if rt := req.Query().Get("resource-type"); rt != "" && !strings.EqualFold(rt, "managedClusters") {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidParameter", "Resource type '%s' is not supported; use managedClusters.", rt)
	}
	var list []map[string]any
	def := aks.Versions.DefaultPatch()
	for _, m := range aks.Versions.Minors {
		for _, v := range m.Patches {
			var ups []map[string]any
			for _, u := range aks.Versions.Upgrades(v) {
				ups = append(ups, map[string]any{"orchestratorType": "Kubernetes", "orchestratorVersion": u})
			}
			entry := map[string]any{"orchestratorType": "Kubernetes", "orchestratorVersion": v, "isPreview": m.Preview, "upgrades": ups}
			if v == def {
				entry["default"] = true
			}
			list = append(list, entry)
		}
	}
	loc := req.Route.ID.Name()
	return arm.OK(map[string]any{
		"id":   "/subscriptions/" + req.Subscription() + "/providers/Microsoft.ContainerService/locations/" + loc + "/orchestrators",
		"name": "default", "type": "Microsoft.ContainerService/locations/orchestrators",
		"properties": map[string]any{"orchestrators": list},
	}), nil
}

// maintenanceBody renders a maintenance configuration.
func maintenanceBody(r *store.Resource) (map[string]any, error) {
	var props map[string]any
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, fmt.Errorf("maintenance configuration %s: %w", r.ID, err)
	}
	return map[string]any{"id": r.ID, "name": r.Name, "type": "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
		"properties": props, "systemData": r.SystemData}, nil
}
