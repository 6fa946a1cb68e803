package aks

import (
	"regexp"
	"strings"
)

// AKS's naming rules.

var (
	clusterNameRule = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`)
	poolNameRule    = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	dnsPrefixRule   = regexp.MustCompile(`^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$`)
	adminUserRule   = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9_]*$`)
)

// ValidateClusterName applies AKS's cluster naming rules.
func ValidateClusterName(name string) error {
	if !clusterNameRule.MatchString(name) {
		return invalidParameter("name",
			"\"%s\" managed cluster name is invalid. It can contain only letters, numbers, underscores and hyphens, must start and end with a letter or number, and can be at most 63 characters", name)
	}
	upper := strings.ToUpper(name)
	for _, w := range []string{"MICROSOFT", "WINDOWS"} {
		if strings.Contains(upper, w) {
			return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'MICROSOFT' and 'WINDOWS' can't be used as either a whole word or a substring in the name.", name)
		}
	}
	for _, w := range []string{"LOGIN", "XBOX"} {
		if strings.HasPrefix(upper, w) {
			return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'LOGIN' and 'XBOX' can't be used at the start of the name.", name)
		}
	}
	if upper == "AZURE" {
		return invalidParameter("name", "\"%s\" managed cluster name is invalid because 'azure' is reserved.", name)
	}
	return nil
}

// ValidatePoolName applies AKS's agent pool naming rules (Windows pools: at
// most 6 characters).
func ValidatePoolName(name, osType string) error {
	if !poolNameRule.MatchString(name) {
		return invalidParameter("agentPoolProfile.name",
			"Agent Pool name '%s' should start with a lowercase letter, have max length of 12, and only have characters a-z0-9", name)
	}
	if strings.EqualFold(osType, "Windows") && len(name) > 6 {
		return invalidParameter("agentPoolProfile.name", "Windows agent pool name '%s' can not be longer than 6 characters", name)
	}
	return nil
}

// ValidateAppGatewayName applies Azure's application gateway naming rule.
func ValidateAppGatewayName(name string) error {
	if !appGatewayNameRule.MatchString(name) {
		return badRequest("InvalidParameter", "addonProfiles.ingressApplicationGateway.config.applicationGatewayName",
			"Application gateway name '%s' is invalid: 1 to 80 characters, letters, digits, '.', '-' and '_', starting with a letter or digit and ending with a letter, digit or '_'.", name)
	}
	return nil
}

var appGatewayNameRule = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,78}[a-zA-Z0-9_])?$`)
