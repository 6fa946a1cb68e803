// Package programs links the upstream programs of AKS's system images
// (CoreDNS, metrics-server) into the binary and registers them with
// nodeapps under their images' entrypoint names.
package programs
