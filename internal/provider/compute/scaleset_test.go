package compute

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScaleSetName(t *testing.T) {
	e := newEnv(t)
	bad := apiError{Status: 400, Code: "InvalidParameter", Target: "vmScaleSetName"}
	for _, tt := range []struct {
		name string
		want apiError
	}{
		{"a", apiError{Status: 201}},
		{"aks-nodepool1-12345678-vmss", apiError{Status: 201}},
		{"ends_", apiError{Status: 201}},
		{"has.dot9", apiError{Status: 201}},
		{strings.Repeat("x", 64), apiError{Status: 201}},
		{strings.Repeat("x", 65), bad},
		{"-starts", bad},
		{"_starts", bad},
		{"ends-", bad},
		{"ends.", bad},
		{"has%20space", bad},
	} {
		if got := e.do("PUT", vmssID(tt.name)+apiV, scaleSet(0)).err(false); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// Every rule of a scale set PUT, and that a refused PUT writes nothing.
func TestScaleSetValidation(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name     string
		capacity int
		change   func(map[string]any)
		want     apiError
	}{
		{"unknown VM size", 1, func(b map[string]any) { obj(b, "sku")["name"] = "Standard_Nope" },
			apiError{400, "InvalidParameter", "vmSize", ""}},
		{"negative capacity", -1, nil, apiError{400, "InvalidParameter", "sku.capacity",
			"The value -1 of parameter 'sku.capacity' is out of range. The value must be between 0 and 1000, inclusive."}},
		{"capacity over 1000", 1001, nil, apiError{400, "InvalidParameter", "sku.capacity",
			"The value 1001 of parameter 'sku.capacity' is out of range. The value must be between 0 and 1000, inclusive."}},
		{"no OS profile", 1, func(b map[string]any) { delete(obj(b, "properties", "virtualMachineProfile"), "osProfile") },
			apiError{400, "InvalidParameter", "virtualMachineProfile.osProfile.computerNamePrefix", "Required parameter 'osProfile.computerNamePrefix' is missing (null)."}},
		{"empty computer name prefix", 1, func(b map[string]any) {
			obj(b, "properties", "virtualMachineProfile", "osProfile")["computerNamePrefix"] = ""
		},
			apiError{400, "InvalidParameter", "virtualMachineProfile.osProfile.computerNamePrefix", "Required parameter 'osProfile.computerNamePrefix' is missing (null)."}},
		{"no network profile", 1, func(b map[string]any) { delete(obj(b, "properties", "virtualMachineProfile"), "networkProfile") },
			apiError{400, "InvalidParameter", "virtualMachineProfile.networkProfile.networkInterfaceConfigurations", "The scale set needs at least one network interface configuration."}},
		{"no NIC configuration", 1, func(b map[string]any) {
			obj(b, "properties", "virtualMachineProfile", "networkProfile")["networkInterfaceConfigurations"] = []any{}
		}, apiError{400, "InvalidParameter", "virtualMachineProfile.networkProfile.networkInterfaceConfigurations", "The scale set needs at least one network interface configuration."}},
		{"NIC without IP configuration", 1, func(b map[string]any) { obj(nicConfig(b), "properties")["ipConfigurations"] = []any{} },
			apiError{400, "InvalidParameter", "", "Network interface configuration aks-nodepool1-12345678-vmss needs an IP configuration with a subnet."}},
		{"IP configuration without subnet", 1, func(b map[string]any) { delete(obj(ipConfigs(b)[0].(map[string]any), "properties"), "subnet") },
			apiError{400, "InvalidParameter", "", "Network interface configuration aks-nodepool1-12345678-vmss needs an IP configuration with a subnet."}},
		{"subnet not in the VNet", 1, func(b map[string]any) {
			obj(ipConfigs(b)[0].(map[string]any), "properties", "subnet")["id"] = vnetID + "/subnets/nope"
		}, apiError{404, "NotFound", "", "Resource " + vnetID + "/subnets/nope not found."}},
		{"not a subnet ID", 1, func(b map[string]any) { obj(ipConfigs(b)[0].(map[string]any), "properties", "subnet")["id"] = vnetID },
			apiError{400, "InvalidSubnetId", "", "'" + vnetID + "' is not a valid subnet resource ID."}},
		{"subnet too small", 4, func(b map[string]any) { obj(ipConfigs(b)[0].(map[string]any), "properties", "subnet")["id"] = tinyID },
			apiError{400, "SubnetIsFull", "", "Subnet tiny with address prefix 10.239.0.0/29 does not have enough capacity for 4 IP addresses."}},
		{"subnet too small for secondary addresses", 2, func(b map[string]any) {
			ip := ipConfigs(b)[0].(map[string]any)
			obj(ip, "properties", "subnet")["id"] = tinyID
			obj(nicConfig(b), "properties")["ipConfigurations"] = []any{ip, map[string]any{"name": "ipconfig2",
				"properties": map[string]any{"subnet": map[string]any{"id": tinyID}}}}
		}, apiError{400, "SubnetIsFull", "", "Subnet tiny with address prefix 10.239.0.0/29 does not have enough capacity for 4 IP addresses."}},
		{"no location", 1, func(b map[string]any) { delete(b, "location") },
			apiError{400, "LocationRequired", "", "The location property is required for this definition."}},
		{"mistyped property", 1, func(b map[string]any) { obj(b, "properties")["overprovision"] = "yes" },
			apiError{400, "InvalidRequestContent", "", ""}},
	} {
		var change []func(map[string]any)
		if tt.change != nil {
			change = append(change, tt.change)
		}
		r := e.do("PUT", vmssID("vmss")+apiV, scaleSet(tt.capacity, change...))
		got := r.err(tt.want.Message != "")
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if got := e.do("GET", vmssID("vmss")+apiV, "").err(false); got.Code != "ResourceNotFound" {
			t.Errorf("%s: the refused scale set is there: %+v", tt.name, got)
		}
	}
	// Nothing of the refused PUTs holds an address: the tiny subnet is free.
	e.must("PUT", vmssID("fits")+apiV, scaleSet(3, func(b map[string]any) {
		obj(ipConfigs(b)[0].(map[string]any), "properties", "subnet")["id"] = tinyID
	}), 201)
}

func TestScaleSetDefaults(t *testing.T) {
	e := newEnv(t)
	r := e.must("PUT", vmssID("vmss")+apiV, scaleSet(0, func(b map[string]any) {
		b["sku"] = map[string]any{"name": "standard_ds2_v2"}
		delete(obj(b, "properties", "virtualMachineProfile", "osProfile"), "secrets")
	}), 201)
	if diff := cmp.Diff(map[string]any{"name": "Standard_DS2_v2", "tier": "Standard", "capacity": float64(0)}, r.body["sku"]); diff != "" {
		t.Errorf("sku (-want +got):\n%s", diff)
	}
	props := r.body["properties"].(map[string]any)
	for _, tt := range []struct {
		path []any
		want any
	}{
		{[]any{"orchestrationMode"}, "Uniform"},
		{[]any{"provisioningState"}, "Succeeded"},
		{[]any{"timeCreated"}, "2026-03-01T12:00:00Z"},
		{[]any{"virtualMachineProfile", "osProfile", "secrets"}, []any{}},
		{[]any{"localaksNextInstanceId"}, nil},
	} {
		if diff := cmp.Diff(tt.want, at(props, tt.path...)); diff != "" {
			t.Errorf("properties %v (-want +got):\n%s", tt.path, diff)
		}
	}
	if id, _ := props["uniqueId"].(string); !guid.MatchString(id) {
		t.Errorf("uniqueId = %q", id)
	}
	if names := e.instanceNames("vmss"); len(names) != 0 {
		t.Errorf("instances of a scale set of capacity 0: %v", names)
	}
	// A scale set without a capacity has none.
	r = e.must("PUT", vmssID("nocap")+apiV, scaleSet(0, func(b map[string]any) { delete(obj(b, "sku"), "capacity") }), 201)
	if got := at(r.body, "sku", "capacity"); got != float64(0) {
		t.Errorf("capacity left out = %v, want 0", got)
	}
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// A scale set, an instance, its instance view and its NIC as clients see
// them.
func TestScaleSetGolden(t *testing.T) {
	e := newEnv(t)
	created := e.must("PUT", vmssID("aks-nodepool1-12345678-vmss")+apiV, scaleSet(2, func(b map[string]any) {
		b["zones"] = []any{"1", "2"}
	}), 201)
	golden(t, "vmss-put-201", created.raw)
	golden(t, "vmss", e.must("GET", vmssID("aks-nodepool1-12345678-vmss")+apiV, "", 200).raw)
	inst := instanceID("aks-nodepool1-12345678-vmss", "1")
	golden(t, "instance", e.must("GET", inst+apiV, "", 200).raw)
	golden(t, "instance-view", e.must("GET", inst+"/instanceView"+apiV, "", 200).raw)
	golden(t, "instance-nic", e.must("GET", inst+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, "", 200).raw)
}

func TestScaleSetUpdate(t *testing.T) {
	e := newEnv(t)
	first := e.must("PUT", vmssID("vmss")+apiV, scaleSet(1), 201)
	e.p.now = func() time.Time { return created.Add(time.Hour) }
	second := e.must("PUT", vmssID("vmss")+apiV, scaleSet(1, func(b map[string]any) { b["tags"] = map[string]any{"x": "y"} }), 200)
	for _, k := range []string{"uniqueId", "timeCreated"} {
		if a, b := at(first.body, "properties", k), at(second.body, "properties", k); a != b {
			t.Errorf("%s changed on update: %v → %v", k, a, b)
		}
	}
	if diff := cmp.Diff(map[string]any{"x": "y"}, second.body["tags"]); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if got := e.do("PUT", vmssID("vmss")+apiV, scaleSet(1, func(b map[string]any) { b["location"] = "westus" })).err(false); got != (apiError{400, "InvalidResourceLocation", "", ""}) {
		t.Errorf("moving the scale set: %+v", got)
	}
	// The instance is the same one.
	if diff := cmp.Diff([]string{"0"}, e.instanceNames("vmss")); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
}

// The instance count follows sku.capacity: scale-in removes the newest
// instances, instance IDs are not reused, addresses are.
func TestCapacityFollowsSKU(t *testing.T) {
	e := newEnv(t)
	type inst struct{ Name, ComputerName, IP string }
	instances := func() []inst {
		t.Helper()
		out := []inst{}
		for _, v := range e.must("GET", vmssID("vmss")+"/virtualMachines"+apiV, "", 200).body["value"].([]any) {
			name := at(v, "name").(string)
			nic := e.must("GET", instanceID("vmss", name)+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, "", 200)
			out = append(out, inst{name, at(v, "properties", "osProfile", "computerName").(string),
				at(nic.body, "properties", "ipConfigurations", 0, "properties", "privateIPAddress").(string)})
		}
		return out
	}
	steps := []struct {
		capacity int
		want     []inst
	}{
		{3, []inst{{"0", "aks-nodepool1-12345678-vmss000000", "10.224.0.4"}, {"1", "aks-nodepool1-12345678-vmss000001", "10.224.0.5"},
			{"2", "aks-nodepool1-12345678-vmss000002", "10.224.0.6"}}},
		{1, []inst{{"0", "aks-nodepool1-12345678-vmss000000", "10.224.0.4"}}},
		{3, []inst{{"0", "aks-nodepool1-12345678-vmss000000", "10.224.0.4"}, {"3", "aks-nodepool1-12345678-vmss000003", "10.224.0.5"},
			{"4", "aks-nodepool1-12345678-vmss000004", "10.224.0.6"}}},
		{0, []inst{}},
	}
	for i, s := range steps {
		status := 200
		if i == 0 {
			status = 201
		}
		r := e.must("PUT", vmssID("vmss")+apiV, scaleSet(s.capacity), status)
		if got := at(r.body, "sku", "capacity"); got != float64(s.capacity) {
			t.Errorf("step %d: sku.capacity = %v", i, got)
		}
		if diff := cmp.Diff(s.want, instances()); diff != "" {
			t.Errorf("step %d (capacity %d): instances (-want +got):\n%s", i, s.capacity, diff)
		}
	}
	// The removed instances took their NICs with them.
	if got := e.do("GET", vmssID("vmss")+"/networkInterfaces"+apiV, ""); got.status != 200 || len(got.body["value"].([]any)) != 0 {
		t.Errorf("NICs of an empty scale set: %d %s", got.status, got.raw)
	}
}

func TestInstances(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(1), 201)
	r := e.must("GET", instanceID("vmss", "0")+apiV, "", 200)
	for _, tt := range []struct {
		path []any
		want any
	}{
		{[]any{"id"}, instanceID("vmss", "0")},
		{[]any{"name"}, "0"},
		{[]any{"instanceId"}, "0"},
		{[]any{"type"}, "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"},
		{[]any{"location"}, "eastus"},
		{[]any{"tags"}, map[string]any{"aks-managed-poolName": "nodepool1"}},
		{[]any{"sku"}, map[string]any{"name": "Standard_DS2_v2", "tier": "Standard"}},
		{[]any{"properties", "localaks"}, nil},
		{[]any{"properties", "latestModelApplied"}, true},
		{[]any{"properties", "hardwareProfile"}, map[string]any{"vmSize": "Standard_DS2_v2"}},
		{[]any{"properties", "osProfile", "computerName"}, "aks-nodepool1-12345678-vmss000000"},
		{[]any{"properties", "osProfile", "adminUsername"}, "azureuser"},
		{[]any{"properties", "osProfile", "linuxConfiguration"}, map[string]any{"disablePasswordAuthentication": true}},
		{[]any{"properties", "storageProfile", "osDisk", "createOption"}, "FromImage"},
		{[]any{"properties", "storageProfile", "imageReference", "sku"}, "aks-ubuntu-2204"},
		{[]any{"properties", "networkProfile", "networkInterfaces"}, []any{map[string]any{"id": instanceID("vmss", "0") + "/networkInterfaces/aks-nodepool1-12345678-vmss"}}},
		{[]any{"properties", "timeCreated"}, "2026-03-01T12:00:00Z"},
	} {
		if diff := cmp.Diff(tt.want, at(r.body, tt.path...)); diff != "" {
			t.Errorf("instance %v (-want +got):\n%s", tt.path, diff)
		}
	}
	if disk, _ := at(r.body, "properties", "storageProfile", "osDisk", "name").(string); !regexp.MustCompile(`^vmss_0_[0-9a-f]{32}$`).MatchString(disk) {
		t.Errorf("OS disk name = %q, want vmss_0_{32 hex}", disk)
	}
	if id, _ := at(r.body, "properties", "vmId").(string); !guid.MatchString(id) {
		t.Errorf("vmId = %q", id)
	}

	for _, tt := range []struct {
		method, path, body string
		want               apiError
	}{
		{"GET", instanceID("vmss", "9"), "", apiError{404, "ResourceNotFound", "",
			"The Resource 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/vmss/9' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}},
		{"GET", instanceID("vmss", "9") + "/instanceView", "", apiError{404, "ResourceNotFound", "",
			"The Resource 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/vmss/9' under resource group 'rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}},
		{"PUT", instanceID("vmss", "0"), `{"properties":{}}`, apiError{405, "MethodNotAllowed", "", ""}},
		{"DELETE", instanceID("vmss", "0"), "", apiError{405, "MethodNotAllowed", "", ""}},
		{"GET", vmssID("nope") + "/virtualMachines", "", apiError{404, "ParentResourceNotFound", "",
			"Can not perform requested operation on nested resource. Parent resource 'nope' not found."}},
	} {
		got := e.do(tt.method, tt.path+apiV, tt.body).err(tt.want.Message != "")
		if got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

// Zonal scale sets spread instances over their zones round robin.
func TestZones(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(4, func(b map[string]any) { b["zones"] = []any{"1", "2", "3"} }), 201)
	var got [][]any
	for _, v := range e.must("GET", vmssID("vmss")+"/virtualMachines"+apiV, "", 200).body["value"].([]any) {
		z, _ := at(v, "zones").([]any)
		got = append(got, z)
	}
	if diff := cmp.Diff([][]any{{"1"}, {"2"}, {"3"}, {"1"}}, got); diff != "" {
		t.Errorf("instance zones (-want +got):\n%s", diff)
	}
}

// Azure CNI's pre-allocated pod addresses are the NIC's secondary IP
// configurations.
func TestSecondaryIPConfigurations(t *testing.T) {
	e := newEnv(t)
	pool := rgID + "/providers/Microsoft.Network/loadBalancers/kubernetes/backendAddressPools/kubernetes"
	nsg := rgID + "/providers/Microsoft.Network/networkSecurityGroups/aks-agentpool-nsg"
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(2, func(b map[string]any) {
		nic := obj(nicConfig(b), "properties")
		nic["networkSecurityGroup"] = map[string]any{"id": nsg}
		first := ipConfigs(b)[0].(map[string]any)
		obj(first, "properties")["loadBalancerBackendAddressPools"] = []any{map[string]any{"id": pool}}
		nic["ipConfigurations"] = []any{first,
			map[string]any{"name": "ipconfig2", "properties": map[string]any{"subnet": map[string]any{"id": subnetID}}},
			map[string]any{"name": "ipconfig3", "properties": map[string]any{"subnet": map[string]any{"id": subnetID}}}}
	}), 201)
	type ipc struct {
		Name, IP string
		Primary  bool
		Pools    any
	}
	for n, want := range [][]ipc{
		{{"ipconfig1", "10.224.0.4", true, []any{map[string]any{"id": pool}}}, {"ipconfig2", "10.224.0.5", false, nil}, {"ipconfig3", "10.224.0.6", false, nil}},
		{{"ipconfig1", "10.224.0.7", true, []any{map[string]any{"id": pool}}}, {"ipconfig2", "10.224.0.8", false, nil}, {"ipconfig3", "10.224.0.9", false, nil}},
	} {
		nic := e.must("GET", instanceID("vmss", strconv.Itoa(n))+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, "", 200)
		var got []ipc
		for _, c := range at(nic.body, "properties", "ipConfigurations").([]any) {
			got = append(got, ipc{at(c, "name").(string), at(c, "properties", "privateIPAddress").(string),
				at(c, "properties", "primary").(bool), at(c, "properties", "loadBalancerBackendAddressPools")})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("instance %d IP configurations (-want +got):\n%s", n, diff)
		}
		if got := at(nic.body, "properties", "networkSecurityGroup", "id"); got != nsg {
			t.Errorf("instance %d NSG = %v", n, got)
		}
		if got := at(nic.body, "properties", "virtualMachine", "id"); got != instanceID("vmss", strconv.Itoa(n)) {
			t.Errorf("instance %d NIC's VM = %v", n, got)
		}
	}
	list := e.must("GET", vmssID("vmss")+"/networkInterfaces"+apiV, "", 200)
	var ids []any
	for _, v := range list.body["value"].([]any) {
		ids = append(ids, at(v, "id"))
	}
	if diff := cmp.Diff([]any{instanceID("vmss", "0") + "/networkInterfaces/aks-nodepool1-12345678-vmss",
		instanceID("vmss", "1") + "/networkInterfaces/aks-nodepool1-12345678-vmss"}, ids); diff != "" {
		t.Errorf("scale set NICs (-want +got):\n%s", diff)
	}
}

func TestPowerActions(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(2), 201)
	power := func() []string {
		t.Helper()
		var out []string
		for _, n := range []string{"0", "1"} {
			v := e.must("GET", instanceID("vmss", n)+"/instanceView"+apiV, "", 200)
			out = append(out, at(v.body, "statuses", 1, "code").(string)+" "+at(v.body, "statuses", 1, "displayStatus").(string))
		}
		return out
	}
	if diff := cmp.Diff([]string{"PowerState/running VM running", "PowerState/running VM running"}, power()); diff != "" {
		t.Errorf("new instances (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		action, want string
	}{
		{"powerOff", "PowerState/stopped VM stopped"},
		{"start", "PowerState/running VM running"},
		{"deallocate", "PowerState/deallocated VM deallocated"},
		{"restart", "PowerState/running VM running"},
		{"poweroff", "PowerState/stopped VM stopped"}, // actions are matched in any case
	} {
		if r := e.do("POST", vmssID("vmss")+"/"+tt.action+apiV, ""); r.status != 200 || len(r.raw) != 0 {
			t.Errorf("%s: %d %s", tt.action, r.status, r.raw)
		}
		if diff := cmp.Diff([]string{tt.want, tt.want}, power()); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", tt.action, diff)
		}
	}
	if got := e.do("POST", vmssID("nope")+"/start"+apiV, "").err(false); got != (apiError{404, "ResourceNotFound", "", ""}) {
		t.Errorf("start a missing scale set: %+v", got)
	}
	view := e.must("GET", instanceID("vmss", "0")+"/instanceView"+apiV, "", 200)
	if diff := cmp.Diff(map[string]any{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
		"time": "2026-03-01T12:00:00Z"}, at(view.body, "statuses", 0)); diff != "" {
		t.Errorf("provisioning status (-want +got):\n%s", diff)
	}
	if got := at(view.body, "computerName"); got != "aks-nodepool1-12345678-vmss000000" {
		t.Errorf("instance view computerName = %v", got)
	}
}

// POST {vmss}/delete removes the named instances and lowers the capacity.
func TestDeleteInstancesAction(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(3), 201)
	for _, tt := range []struct {
		body string
		want apiError
	}{
		{"", apiError{400, "InvalidRequestContent", "", "The request content was invalid and could not be deserialized: 'The request body is empty.'."}},
		{`{"instanceIds":["0","x"]}`, apiError{400, "InvalidParameter", "instanceIds", `Instance ID "x" is not valid.`}},
	} {
		if got := e.do("POST", vmssID("vmss")+"/delete"+apiV, tt.body).err(true); got != tt.want {
			t.Errorf("delete %q: %+v, want %+v", tt.body, got, tt.want)
		}
	}
	// The refused requests removed nothing.
	if diff := cmp.Diff([]string{"0", "1", "2"}, e.instanceNames("vmss")); diff != "" {
		t.Errorf("instances after refused deletes (-want +got):\n%s", diff)
	}
	e.must("POST", vmssID("vmss")+"/delete"+apiV, `{"instanceIds":["0","2"]}`, 200)
	if diff := cmp.Diff([]string{"1"}, e.instanceNames("vmss")); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	if got := at(e.must("GET", vmssID("vmss")+apiV, "", 200).body, "sku", "capacity"); got != float64(1) {
		t.Errorf("capacity after deleting two of three = %v", got)
	}
	if got := e.do("GET", instanceID("vmss", "0")+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, ""); got.status != 404 {
		t.Errorf("NIC of a deleted instance: %d", got.status)
	}
	// Scaling out again gives new instance IDs.
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(3), 200)
	if diff := cmp.Diff([]string{"1", "3", "4"}, e.instanceNames("vmss")); diff != "" {
		t.Errorf("instances after scaling out (-want +got):\n%s", diff)
	}
	if got := e.do("POST", vmssID("nope")+"/delete"+apiV, `{"instanceIds":["0"]}`).err(false); got != (apiError{404, "ResourceNotFound", "", ""}) {
		t.Errorf("delete in a missing scale set: %+v", got)
	}
}

// A model whose backend pools change leaves instances behind until
// manualupgrade, as cloud-provider-azure drives it.
func TestManualUpgrade(t *testing.T) {
	e := newEnv(t)
	lb := rgID + "/providers/Microsoft.Network/loadBalancers/kubernetes/backendAddressPools/"
	withPools := func(pools ...string) func(map[string]any) {
		return func(b map[string]any) {
			var refs []any
			for _, p := range pools {
				refs = append(refs, map[string]any{"id": lb + p})
			}
			obj(ipConfigs(b)[0].(map[string]any), "properties")["loadBalancerBackendAddressPools"] = refs
		}
	}
	type state struct {
		Latest bool
		Pools  []string
	}
	states := func() []state {
		t.Helper()
		var out []state
		for _, n := range []string{"0", "1"} {
			inst := e.must("GET", instanceID("vmss", n)+apiV, "", 200)
			nic := e.must("GET", instanceID("vmss", n)+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, "", 200)
			s := state{Latest: at(inst.body, "properties", "latestModelApplied").(bool)}
			pools, _ := at(nic.body, "properties", "ipConfigurations", 0, "properties", "loadBalancerBackendAddressPools").([]any)
			for _, p := range pools {
				s.Pools = append(s.Pools, strings.TrimPrefix(at(p, "id").(string), lb))
			}
			out = append(out, s)
		}
		return out
	}
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(2, withPools("kubernetes")), 201)
	steps := []struct {
		name string
		do   func()
		want []state
	}{
		{"created", func() {}, []state{{true, []string{"kubernetes"}}, {true, []string{"kubernetes"}}}},
		{"model gains a pool", func() { e.must("PUT", vmssID("vmss")+apiV, scaleSet(2, withPools("kubernetes", "internal")), 200) },
			[]state{{false, []string{"kubernetes"}}, {false, []string{"kubernetes"}}}},
		{"instance 0 upgraded", func() { e.must("POST", vmssID("vmss")+"/manualupgrade"+apiV, `{"instanceIds":["0"]}`, 200) },
			[]state{{true, []string{"kubernetes", "internal"}}, {false, []string{"kubernetes"}}}},
		{"model back to one pool", func() { e.must("PUT", vmssID("vmss")+apiV, scaleSet(2, withPools("kubernetes")), 200) },
			[]state{{false, []string{"kubernetes", "internal"}}, {true, []string{"kubernetes"}}}},
		{"model without pools", func() { e.must("PUT", vmssID("vmss")+apiV, scaleSet(2), 200) },
			[]state{{false, []string{"kubernetes", "internal"}}, {false, []string{"kubernetes"}}}},
		{"both upgraded", func() { e.must("POST", vmssID("vmss")+"/manualUpgrade"+apiV, `{"instanceIds":["0","1"]}`, 200) },
			[]state{{true, nil}, {true, nil}}},
	}
	for _, s := range steps {
		s.do()
		if diff := cmp.Diff(s.want, states()); diff != "" {
			t.Errorf("%s: instances (-want +got):\n%s", s.name, diff)
		}
	}
	for _, tt := range []struct {
		body string
		want apiError
	}{
		{`{}`, apiError{400, "InvalidParameter", "instanceIds", "Required parameter 'instanceIds' is missing (null)."}},
		{`{"instanceIds":[]}`, apiError{400, "InvalidParameter", "instanceIds", "Required parameter 'instanceIds' is missing (null)."}},
		{`{"instanceIds":["1","7"]}`, apiError{400, "InvalidParameter", "instanceIds", "The instance ID 7 is not in scale set vmss."}},
		{"", apiError{400, "InvalidRequestContent", "", "The request content was invalid and could not be deserialized: 'The request body is empty.'."}},
	} {
		if got := e.do("POST", vmssID("vmss")+"/manualupgrade"+apiV, tt.body).err(true); got != tt.want {
			t.Errorf("manualupgrade %s: %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

func TestDeleteScaleSet(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(2), 201)
	if r := e.do("DELETE", vmssID("vmss")+apiV, ""); r.status != 200 {
		t.Errorf("DELETE: %d %s", r.status, r.raw)
	}
	for _, path := range []string{vmssID("vmss"), instanceID("vmss", "0"), instanceID("vmss", "1") + "/networkInterfaces/aks-nodepool1-12345678-vmss"} {
		if got := e.do("GET", path+apiV, "").err(false); got != (apiError{404, "ResourceNotFound", "", ""}) {
			t.Errorf("GET %s after delete: %+v", path, got)
		}
	}
	if r := e.do("DELETE", vmssID("vmss")+apiV, ""); r.status != 204 {
		t.Errorf("second DELETE: %d %s", r.status, r.raw)
	}
	// The addresses are free again.
	e.must("PUT", vmssID("again")+apiV, scaleSet(1), 201)
	nic := e.must("GET", instanceID("again", "0")+"/networkInterfaces/aks-nodepool1-12345678-vmss"+apiV, "", 200)
	if got := at(nic.body, "properties", "ipConfigurations", 0, "properties", "privateIPAddress"); got != "10.224.0.4" {
		t.Errorf("first address after the delete = %v", got)
	}
	if got := e.do("DELETE", rgID+"2/providers/Microsoft.Compute/virtualMachineScaleSets/x"+apiV, "").err(false); got != (apiError{404, "ResourceGroupNotFound", "", ""}) {
		t.Errorf("DELETE in a missing group: %+v", got)
	}
}

func TestListScaleSets(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"b", "a"} {
		e.must("PUT", vmssID(n)+apiV, scaleSet(0), 201)
	}
	for _, scope := range []string{rgID, "/subscriptions/" + subID} {
		r := e.must("GET", scope+"/providers/Microsoft.Compute/virtualMachineScaleSets"+apiV, "", 200)
		var names []any
		for _, v := range r.body["value"].([]any) {
			names = append(names, at(v, "name"))
		}
		if diff := cmp.Diff([]any{"a", "b"}, names); diff != "" {
			t.Errorf("list at %s (-want +got):\n%s", scope, diff)
		}
	}
	if got := e.do("GET", rgID+"2/providers/Microsoft.Compute/virtualMachineScaleSets"+apiV, "").err(true); got !=
		(apiError{404, "ResourceGroupNotFound", "", "Resource group 'rg2' could not be found."}) {
		t.Errorf("list in a missing group: %+v", got)
	}
	if got := e.do("GET", vmssID("a")+"?api-version=2099-01-01", "").err(false); got != (apiError{400, "InvalidResourceType", "", ""}) {
		t.Errorf("unknown api-version: %+v", got)
	}
}

// TestCapacityOnlyPut: a PUT with only name, location and sku (the
// cluster autoscaler's scale-up) changes the capacity and keeps the model;
// on a new scale set the model is still required.
func TestCapacityOnlyPut(t *testing.T) {
	e := newEnv(t)
	e.must("PUT", vmssID("vmss")+apiV, scaleSet(1), 201)
	before := e.must("GET", vmssID("vmss")+apiV, "", 200)
	r := e.must("PUT", vmssID("vmss")+apiV, `{"name":"vmss","location":"eastus","sku":{"name":"Standard_D2s_v5","tier":"Standard","capacity":3}}`, 200)
	if got := at(r.body, "sku", "capacity"); got != float64(3) {
		t.Fatalf("sku.capacity = %v", got)
	}
	if diff := cmp.Diff(at(before.body, "properties", "virtualMachineProfile"), at(r.body, "properties", "virtualMachineProfile")); diff != "" {
		t.Errorf("the model changed (-before +after):\n%s", diff)
	}
	if n := len(e.must("GET", vmssID("vmss")+"/virtualMachines"+apiV, "", 200).body["value"].([]any)); n != 3 {
		t.Errorf("%d instances, want 3", n)
	}
	if got := e.do("PUT", vmssID("other")+apiV, `{"location":"eastus","sku":{"name":"Standard_D2s_v5","capacity":1}}`); got.status != 400 {
		t.Errorf("a new scale set without a model: %d %s", got.status, got.raw)
	}
	// Standalone virtual machines: none, and the list answers.
	rg := vmssID("vmss")[:strings.Index(vmssID("vmss"), "/providers/")]
	if got := e.do("GET", rg+"/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01", ""); got.status != 200 || len(got.body["value"].([]any)) != 0 {
		t.Errorf("virtual machines: %d %s", got.status, got.raw)
	}
}
