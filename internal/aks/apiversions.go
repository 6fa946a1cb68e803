package aks

import "github.com/localaks/localaks/internal/apiversions"

// APIVersions are the api-versions of managed clusters and agent pools
// that localaks accepts (package apiversions), newest first: every
// version is served with the current version's shape.
var APIVersions = apiversions.For("Microsoft.ContainerService/managedClusters")
