package azurerbac

import (
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
)

func TestDataAction(t *testing.T) {
	for _, tt := range []struct {
		ra   authzv1.ResourceAttributes
		want string
	}{
		{authzv1.ResourceAttributes{Verb: "list", Resource: "pods"}, "Microsoft.ContainerService/managedClusters/pods/read"},
		{authzv1.ResourceAttributes{Verb: "watch", Group: "apps", Resource: "deployments"}, "Microsoft.ContainerService/managedClusters/apps/deployments/read"},
		{authzv1.ResourceAttributes{Verb: "patch", Group: "apps", Resource: "deployments", Subresource: "scale"}, "Microsoft.ContainerService/managedClusters/apps/deployments/scale/write"},
		{authzv1.ResourceAttributes{Verb: "deletecollection", Resource: "secrets"}, "Microsoft.ContainerService/managedClusters/secrets/delete"},
		{authzv1.ResourceAttributes{Verb: "create", Resource: "pods", Subresource: "exec"}, "Microsoft.ContainerService/managedClusters/pods/exec/action"},
		{authzv1.ResourceAttributes{Verb: "impersonate", Resource: "users"}, "Microsoft.ContainerService/managedClusters/users/impersonate/action"},
		{authzv1.ResourceAttributes{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/bind/action"},
	} {
		if got := DataAction(&tt.ra); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.ra, got, tt.want)
		}
	}
}
