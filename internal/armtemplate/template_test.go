package armtemplate

import (
	"strings"
	"testing"
)

const sample = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "prefix": {"type": "string", "defaultValue": "demo", "maxLength": 10},
    "count": {"type": "int", "defaultValue": 2, "allowedValues": [1, 2, 3]},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}
  },
  "variables": {
    "vnetName": "[concat(parameters('prefix'), '-vnet')]",
    "subnetId": "[resourceId('Microsoft.Network/virtualNetworks/subnets', variables('vnetName'), 'nodes')]",
    "literal": "[[not an expression]"
  },
  "resources": [
    {
      "type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01",
      "name": "[format('{0}-ip-{1}', parameters('prefix'), copyIndex(1))]",
      "location": "[parameters('location')]",
      "copy": {"name": "ips", "count": "[parameters('count')]"},
      "sku": {"name": "Standard"},
      "properties": {"publicIPAllocationMethod": "Static"}
    },
    {
      "type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-02-01",
      "name": "[concat(parameters('prefix'), '-aks')]",
      "location": "[parameters('location')]",
      "dependsOn": ["[resourceId('Microsoft.Network/virtualNetworks', variables('vnetName'))]", "[variables('subnetId')]", "ips"],
      "properties": {"dnsPrefix": "[toLower(parameters('prefix'))]", "agentPoolProfiles": [{"name": "system", "count": "[add(1, 2)]",
        "vnetSubnetID": "[variables('subnetId')]"}], "note": "[variables('literal')]"}
    },
    {
      "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01",
      "name": "[variables('vnetName')]",
      "location": "[parameters('location')]",
      "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}},
      "resources": [
        {"type": "subnets", "apiVersion": "2023-04-01", "name": "nodes", "properties": {"addressPrefix": "10.1.0.0/24"}}
      ]
    },
    {
      "condition": "[equals(parameters('count'), 3)]",
      "type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": "skipped", "location": "eastus"
    }
  ],
  "outputs": {
    "fqdn": {"type": "string", "value": "[reference(resourceId('Microsoft.ContainerService/managedClusters', concat(parameters('prefix'), '-aks'))).fqdn]"},
    "vnet": {"type": "string", "value": "[variables('vnetName')]"},
    "ok": {"type": "bool", "value": "[and(not(empty(variables('vnetName'))), contains(createArray('a', 'b'), 'b'), greater(length(parameters('prefix')), 2))]"}
  }
}`

func TestPlanAndEvaluate(t *testing.T) {
	tmpl, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var referenced string
	scope := Scope{TenantID: "t", SubscriptionID: "s", ResourceGroup: "rg", Location: "westeurope", DeploymentName: "d1",
		Reference: func(id string, full bool) (any, error) {
			referenced = id
			return map[string]any{"fqdn": "demo-aks.hcp.westeurope.azmk8s.io"}, nil
		}}
	d, err := Bind(tmpl, scope, map[string]any{"prefix": "Demo"})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range d.Plan {
		order = append(order, r.Type+" "+r.Name)
	}
	want := []string{
		"Microsoft.Network/publicIPAddresses Demo-ip-1", "Microsoft.Network/publicIPAddresses Demo-ip-2",
		"Microsoft.Network/virtualNetworks Demo-vnet", "Microsoft.Network/virtualNetworks/subnets Demo-vnet/nodes",
		"Microsoft.ContainerService/managedClusters Demo-aks",
	}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	if d.Plan[3].ID != "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/Demo-vnet/subnets/nodes" {
		t.Errorf("subnet ID = %s", d.Plan[3].ID)
	}
	aks := d.Plan[4]
	if len(aks.DependsOn) != 4 {
		t.Errorf("cluster depends on %v", aks.DependsOn)
	}
	body, err := d.Body(aks)
	if err != nil {
		t.Fatal(err)
	}
	props := body["properties"].(map[string]any)
	pool := props["agentPoolProfiles"].([]any)[0].(map[string]any)
	if body["location"] != "westeurope" || props["dnsPrefix"] != "demo" || pool["count"] != int64(3) ||
		pool["vnetSubnetID"] != d.Plan[3].ID || props["note"] != "[not an expression]" {
		t.Errorf("body = %v", body)
	}
	out, err := d.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if v := out["fqdn"].(map[string]any)["value"]; v != "demo-aks.hcp.westeurope.azmk8s.io" || referenced != aks.ID {
		t.Errorf("fqdn output = %v (referenced %s)", v, referenced)
	}
	if out["ok"].(map[string]any)["value"] != true {
		t.Errorf("ok output = %v", out["ok"])
	}
	if p := d.Parameters()["count"].(map[string]any); p["value"] != int64(2) {
		t.Errorf("parameters = %v", d.Parameters())
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, c := range []struct {
		name, template string
		params         map[string]any
		want           string
	}{
		{"missing parameter", `{"parameters":{"p":{"type":"string"}},"resources":[]}`, nil, "The value for the template parameter 'p' is not provided"},
		{"wrong type", `{"parameters":{"p":{"type":"int"}},"resources":[]}`, map[string]any{"p": "x"}, "Expected 'int'"},
		{"not allowed", `{"parameters":{"p":{"type":"string","allowedValues":["a"]}},"resources":[]}`, map[string]any{"p": "b"}, "is not valid"},
		{"unknown parameter", `{"resources":[]}`, map[string]any{"q": 1}, "'q' is not defined"},
		{"bad function", `{"resources":[{"type":"Microsoft.Network/virtualNetworks","apiVersion":"1","name":"[nope()]"}]}`, nil, "'nope' is not valid"},
		{"bad expression", `{"resources":[{"type":"Microsoft.Network/virtualNetworks","apiVersion":"1","name":"[concat('a']"}]}`, nil, "is not valid"},
		{"cycle", `{"resources":[{"type":"A.B/c","apiVersion":"1","name":"x","dependsOn":["y"]},{"type":"A.B/c","apiVersion":"1","name":"y","dependsOn":["x"]}]}`, nil, "circular dependency"},
		{"name segments", `{"resources":[{"type":"A.B/c/d","apiVersion":"1","name":"x"}]}`, nil, "has 1 segments"},
		{"symbolic", `{"languageVersion":"2.0","resources":{}}`, nil, "languageVersion 2.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(c.template))
			if err == nil {
				_, err = Bind(tmpl, Scope{SubscriptionID: "s", ResourceGroup: "rg"}, c.params)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want %q", err, c.want)
			}
		})
	}
}
