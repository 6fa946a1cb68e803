package compute

import (
	"encoding/json"
	"fmt"
)

// Typed parts of a scale set model that ScaleSetProperties keeps as JSON
// (a user's PUT may carry more than localaks models): what the AKS
// reconciler writes, built with these types and stored with Raw.

// UpgradePolicy is a scale set's upgrade policy.
type UpgradePolicy struct {
	Mode string `json:"mode"`
}

// LinuxConfiguration is the Linux part of the OS profile.
type LinuxConfiguration struct {
	DisablePasswordAuthentication bool    `json:"disablePasswordAuthentication"`
	SSH                           SSHKeys `json:"ssh"`
	ProvisionVMAgent              bool    `json:"provisionVMAgent"`
}

// SSHKeys are the authorized SSH keys of the admin user.
type SSHKeys struct {
	PublicKeys []SSHPublicKey `json:"publicKeys"`
}

// SSHPublicKey is one authorized key and where it goes.
type SSHPublicKey struct {
	Path    string `json:"path"`
	KeyData string `json:"keyData"`
}

// StorageProfile is the instances' image and disks.
type StorageProfile struct {
	ImageReference ImageReference    `json:"imageReference"`
	OSDisk         OSDisk            `json:"osDisk"`
	DataDisks      []json.RawMessage `json:"dataDisks"`
}

// ImageReference names the instances' image.
type ImageReference struct {
	ID string `json:"id"`
}

// OSDisk is the instances' OS disk.
type OSDisk struct {
	OSType       string      `json:"osType"`
	CreateOption string      `json:"createOption"`
	Caching      string      `json:"caching"`
	ManagedDisk  ManagedDisk `json:"managedDisk"`
	DiskSizeGB   int         `json:"diskSizeGB"`
}

// ManagedDisk is a disk's storage type.
type ManagedDisk struct {
	StorageAccountType string `json:"storageAccountType"`
}

// ExtensionProfile lists the instances' VM extensions.
type ExtensionProfile struct {
	Extensions []Extension `json:"extensions"`
}

// Extension is a VM extension.
type Extension struct {
	Name       string              `json:"name"`
	Properties ExtensionProperties `json:"properties"`
}

// ExtensionProperties are a VM extension's settings.
type ExtensionProperties struct {
	Publisher               string            `json:"publisher"`
	Type                    string            `json:"type"`
	TypeHandlerVersion      string            `json:"typeHandlerVersion"`
	AutoUpgradeMinorVersion bool              `json:"autoUpgradeMinorVersion"`
	Settings                map[string]string `json:"settings"`
}

// NICDNSSettings are a NIC model's DNS servers.
type NICDNSSettings struct {
	DNSServers []string `json:"dnsServers"`
}

// Identity is a scale set's identity.
type Identity struct {
	Type                   string              `json:"type"`
	UserAssignedIdentities map[string]struct{} `json:"userAssignedIdentities,omitempty"`
}

// Raw encodes a typed part for a json.RawMessage field of the model.
func Raw(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("scale set model: %w", err)
	}
	return raw, nil
}
