package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/store"
)

// appGateways adds to f the application gateways whose gateway subnet is
// in its virtual network (AGIC's, and any a user put there), with their
// public IPs and firewall policies as sources.
func (r *Reconciler) appGateways(tx store.Tx, subscription string, f *clusterspec.Fabric) error {
	if f.VNetID == "" {
		return nil
	}
	recs, err := tx.List(store.Query{Subscription: subscription, Type: network.ApplicationGatewayType})
	if err != nil {
		return err
	}
	prefix := strings.ToLower(f.VNetID) + "/subnets/"
	for _, rec := range recs {
		var props struct {
			GatewayIPConfigurations []struct {
				Properties struct {
					Subnet *network.SubResource `json:"subnet"`
				} `json:"properties"`
			} `json:"gatewayIPConfigurations"`
			FirewallPolicy *network.SubResource `json:"firewallPolicy"`
			WAFConfig      *struct {
				Enabled        bool   `json:"enabled"`
				FirewallMode   string `json:"firewallMode"`
				RuleSetType    string `json:"ruleSetType"`
				RuleSetVersion string `json:"ruleSetVersion"`
			} `json:"webApplicationFirewallConfiguration"`
		}
		if err := json.Unmarshal(rec.Properties, &props); err != nil {
			return fmt.Errorf("application gateway %s: %w", rec.ID, err)
		}
		inVNet := false
		for _, c := range props.GatewayIPConfigurations {
			if c.Properties.Subnet != nil && strings.HasPrefix(strings.ToLower(c.Properties.Subnet.ID), prefix) {
				inVNet = true
			}
		}
		if !inVNet {
			continue
		}
		gw, pips, err := gatewayPath(tx, r.Net, rec)
		if err != nil {
			return fmt.Errorf("application gateway %s: %w", rec.ID, err)
		}
		f.Sources = append(f.Sources, rec.ID)
		f.Sources = append(f.Sources, pips...)
		if w := props.WAFConfig; w != nil {
			gw.WAF = &clusterspec.AGFirewall{Enabled: w.Enabled, Mode: w.FirewallMode, RuleSet: strings.TrimSpace(w.RuleSetType + " " + w.RuleSetVersion)}
		}
		if fp := props.FirewallPolicy; fp != nil && fp.ID != "" {
			f.Sources = append(f.Sources, fp.ID)
			pol, err := tx.Get(fp.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if pol != nil {
				var pp struct {
					PolicySettings struct {
						State string `json:"state"`
						Mode  string `json:"mode"`
					} `json:"policySettings"`
					ManagedRules struct {
						ManagedRuleSets []struct {
							RuleSetType    string `json:"ruleSetType"`
							RuleSetVersion string `json:"ruleSetVersion"`
						} `json:"managedRuleSets"`
					} `json:"managedRules"`
				}
				if err := json.Unmarshal(pol.Properties, &pp); err != nil {
					return fmt.Errorf("firewall policy %s: %w", pol.ID, err)
				}
				gw.WAF = &clusterspec.AGFirewall{Enabled: !strings.EqualFold(pp.PolicySettings.State, "Disabled"), Mode: pp.PolicySettings.Mode}
				if sets := pp.ManagedRules.ManagedRuleSets; len(sets) > 0 {
					gw.WAF.RuleSet = sets[0].RuleSetType + " " + sets[0].RuleSetVersion
				}
			}
		}
		f.ApplicationGateways = append(f.ApplicationGateways, gw)
	}
	return nil
}

// gatewayPath is an application gateway as its data path runs it, and the
// public IPs of its frontends.
func gatewayPath(tx store.Tx, net *network.Provider, rec *store.Resource) (clusterspec.AppGateway, []string, error) {
	gw := clusterspec.AppGateway{ID: rec.ID}
	var pips []string
	each := func(field string, fn func(name string, raw json.RawMessage) error) error {
		children, err := arm.ChildrenOf(rec, field, "")
		if err != nil {
			return err
		}
		for _, c := range children {
			if err := fn(c.Name, c.Properties); err != nil {
				return fmt.Errorf("%s %s: %w", field, c.Name, err)
			}
		}
		return nil
	}
	ports := map[string]int{}
	steps := []struct {
		field string
		fn    func(name string, raw json.RawMessage) error
	}{
		{"frontendIPConfigurations", func(name string, raw json.RawMessage) error {
			fe, pip, err := frontendPath(tx, net, name, raw)
			if pip != "" {
				pips = append(pips, pip)
			}
			gw.Frontends = append(gw.Frontends, fe)
			return err
		}},
		{"frontendPorts", func(name string, raw json.RawMessage) error {
			var p struct {
				Port int `json:"port"`
			}
			err := json.Unmarshal(raw, &p)
			ports[strings.ToLower(name)] = p.Port
			return err
		}},
		{"sslCertificates", func(name string, raw json.RawMessage) error {
			var p struct {
				Data     string `json:"data"`
				Password string `json:"password"`
			}
			err := json.Unmarshal(raw, &p)
			gw.Certificates = append(gw.Certificates, clusterspec.AGCertificate{Name: name, Data: p.Data, Password: p.Password})
			return err
		}},
		{"httpListeners", func(name string, raw json.RawMessage) error {
			var p struct {
				FrontendIPConfiguration *network.SubResource `json:"frontendIPConfiguration"`
				FrontendPort            *network.SubResource `json:"frontendPort"`
				Protocol                string               `json:"protocol"`
				HostName                string               `json:"hostName"`
				HostNames               []string             `json:"hostNames"`
				SSLCertificate          *network.SubResource `json:"sslCertificate"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			l := clusterspec.AGListener{Name: name, Frontend: childName(p.FrontendIPConfiguration), Port: ports[strings.ToLower(childName(p.FrontendPort))],
				Protocol: p.Protocol, HostNames: p.HostNames, Certificate: childName(p.SSLCertificate)}
			if len(l.HostNames) == 0 && p.HostName != "" {
				l.HostNames = []string{p.HostName}
			}
			gw.Listeners = append(gw.Listeners, l)
			return nil
		}},
		{"requestRoutingRules", func(name string, raw json.RawMessage) error {
			var p struct {
				Priority              int                  `json:"priority"`
				HTTPListener          *network.SubResource `json:"httpListener"`
				BackendAddressPool    *network.SubResource `json:"backendAddressPool"`
				BackendHTTPSettings   *network.SubResource `json:"backendHttpSettings"`
				URLPathMap            *network.SubResource `json:"urlPathMap"`
				RedirectConfiguration *network.SubResource `json:"redirectConfiguration"`
			}
			err := json.Unmarshal(raw, &p)
			gw.Rules = append(gw.Rules, clusterspec.AGRule{Name: name, Priority: p.Priority, Listener: childName(p.HTTPListener),
				Pool: childName(p.BackendAddressPool), Settings: childName(p.BackendHTTPSettings), PathMap: childName(p.URLPathMap),
				Redirect: childName(p.RedirectConfiguration)})
			return err
		}},
		{"urlPathMaps", func(name string, raw json.RawMessage) error {
			var p struct {
				DefaultBackendAddressPool    *network.SubResource `json:"defaultBackendAddressPool"`
				DefaultBackendHTTPSettings   *network.SubResource `json:"defaultBackendHttpSettings"`
				DefaultRedirectConfiguration *network.SubResource `json:"defaultRedirectConfiguration"`
				PathRules                    []struct {
					Name       string `json:"name"`
					Properties struct {
						Paths                 []string             `json:"paths"`
						BackendAddressPool    *network.SubResource `json:"backendAddressPool"`
						BackendHTTPSettings   *network.SubResource `json:"backendHttpSettings"`
						RedirectConfiguration *network.SubResource `json:"redirectConfiguration"`
					} `json:"properties"`
				} `json:"pathRules"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			m := clusterspec.AGPathMap{Name: name, DefaultPool: childName(p.DefaultBackendAddressPool),
				DefaultSettings: childName(p.DefaultBackendHTTPSettings), DefaultRedirect: childName(p.DefaultRedirectConfiguration)}
			for _, pr := range p.PathRules {
				m.Rules = append(m.Rules, clusterspec.AGPathRule{Name: pr.Name, Paths: pr.Properties.Paths, Pool: childName(pr.Properties.BackendAddressPool),
					Settings: childName(pr.Properties.BackendHTTPSettings), Redirect: childName(pr.Properties.RedirectConfiguration)})
			}
			gw.PathMaps = append(gw.PathMaps, m)
			return nil
		}},
		{"redirectConfigurations", func(name string, raw json.RawMessage) error {
			var p struct {
				RedirectType       string               `json:"redirectType"`
				TargetListener     *network.SubResource `json:"targetListener"`
				TargetURL          string               `json:"targetUrl"`
				IncludePath        bool                 `json:"includePath"`
				IncludeQueryString bool                 `json:"includeQueryString"`
			}
			err := json.Unmarshal(raw, &p)
			gw.Redirects = append(gw.Redirects, clusterspec.AGRedirect{Name: name, Type: p.RedirectType, TargetListener: childName(p.TargetListener),
				TargetURL: p.TargetURL, IncludePath: p.IncludePath, IncludeQueryString: p.IncludeQueryString})
			return err
		}},
		{"backendAddressPools", func(name string, raw json.RawMessage) error {
			var p struct {
				BackendAddresses []struct {
					IPAddress string `json:"ipAddress"`
					FQDN      string `json:"fqdn"`
				} `json:"backendAddresses"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			pool := clusterspec.AGPool{Name: name}
			for _, a := range p.BackendAddresses {
				if a.IPAddress != "" {
					pool.Addresses = append(pool.Addresses, a.IPAddress)
				} else if a.FQDN != "" {
					pool.Addresses = append(pool.Addresses, a.FQDN)
				}
			}
			gw.Pools = append(gw.Pools, pool)
			return nil
		}},
		{"backendHttpSettingsCollection", func(name string, raw json.RawMessage) error {
			var p struct {
				Port                           int                  `json:"port"`
				Protocol                       string               `json:"protocol"`
				CookieBasedAffinity            string               `json:"cookieBasedAffinity"`
				AffinityCookieName             string               `json:"affinityCookieName"`
				RequestTimeout                 int                  `json:"requestTimeout"`
				Path                           string               `json:"path"`
				HostName                       string               `json:"hostName"`
				PickHostNameFromBackendAddress bool                 `json:"pickHostNameFromBackendAddress"`
				Probe                          *network.SubResource `json:"probe"`
			}
			err := json.Unmarshal(raw, &p)
			gw.Settings = append(gw.Settings, clusterspec.AGSettings{Name: name, Port: p.Port, Protocol: p.Protocol,
				CookieAffinity: strings.EqualFold(p.CookieBasedAffinity, "Enabled"), AffinityCookieName: p.AffinityCookieName,
				RequestTimeoutSeconds: p.RequestTimeout, Path: p.Path, HostName: p.HostName, PickHostName: p.PickHostNameFromBackendAddress,
				Probe: childName(p.Probe)})
			return err
		}},
		{"probes", func(name string, raw json.RawMessage) error {
			var p struct {
				Protocol                            string `json:"protocol"`
				Host                                string `json:"host"`
				Path                                string `json:"path"`
				Port                                int    `json:"port"`
				Interval                            int    `json:"interval"`
				Timeout                             int    `json:"timeout"`
				UnhealthyThreshold                  int    `json:"unhealthyThreshold"`
				PickHostNameFromBackendHTTPSettings bool   `json:"pickHostNameFromBackendHttpSettings"`
				Match                               struct {
					StatusCodes []string `json:"statusCodes"`
				} `json:"match"`
			}
			err := json.Unmarshal(raw, &p)
			gw.Probes = append(gw.Probes, clusterspec.AGProbe{Name: name, Protocol: p.Protocol, Host: p.Host, Path: p.Path, Port: p.Port,
				PickHostName: p.PickHostNameFromBackendHTTPSettings, IntervalSeconds: p.Interval, TimeoutSeconds: p.Timeout,
				UnhealthyThreshold: p.UnhealthyThreshold, StatusCodes: p.Match.StatusCodes})
			return err
		}},
	}
	for _, st := range steps {
		if err := each(st.field, st.fn); err != nil {
			return gw, nil, err
		}
	}
	sort.SliceStable(gw.Rules, func(i, j int) bool { return gw.Rules[i].Priority < gw.Rules[j].Priority })
	return gw, pips, nil
}
