package wiwebhook

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMutate(t *testing.T) {
	d := Defaults{TenantID: "tenant-default", AuthorityHost: "https://localhost:7443/"}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{ClientIDAnnotation: "client-1"}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{UseLabel: "true"}, Annotations: map[string]string{SkipContainersAnnotation: "sidecar"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}},
			Containers: []corev1.Container{
				{Name: "app", Env: []corev1.EnvVar{{Name: "AZURE_TENANT_ID", Value: "mine"}}},
				{Name: "sidecar"},
			},
		},
	}
	out, err := Mutate(pod, sa, d)
	if err != nil {
		t.Fatal(err)
	}
	env := func(c corev1.Container) map[string]string {
		m := map[string]string{}
		for _, e := range c.Env {
			m[e.Name] = e.Value
		}
		return m
	}
	app := env(out.Spec.Containers[0])
	if app["AZURE_CLIENT_ID"] != "client-1" || app["AZURE_TENANT_ID"] != "mine" || app["AZURE_FEDERATED_TOKEN_FILE"] != "/var/run/secrets/azure/tokens/azure-identity-token" ||
		app["AZURE_AUTHORITY_HOST"] != "https://localhost:7443/" {
		t.Errorf("app env = %v", app)
	}
	if init := env(out.Spec.InitContainers[0]); init["AZURE_TENANT_ID"] != "tenant-default" {
		t.Errorf("init env = %v", init)
	}
	if len(out.Spec.Containers[1].Env) != 0 || len(out.Spec.Containers[1].VolumeMounts) != 0 {
		t.Errorf("skipped container changed: %+v", out.Spec.Containers[1])
	}
	if m := out.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].MountPath != TokenMountPath || !m[0].ReadOnly {
		t.Errorf("mounts = %+v", m)
	}
	i := slices.IndexFunc(out.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == TokenVolume })
	if i < 0 {
		t.Fatal("no token volume")
	}
	tok := out.Spec.Volumes[i].Projected.Sources[0].ServiceAccountToken
	if tok.Audience != Audience || *tok.ExpirationSeconds != 3600 || tok.Path != "azure-identity-token" {
		t.Errorf("token projection = %+v", tok)
	}
	if len(pod.Spec.Volumes) != 0 || len(pod.Spec.Containers[0].Env) != 1 {
		t.Error("Mutate changed its input")
	}
	// Mutating again changes nothing (reinvocation).
	again, _ := Mutate(out, sa, d)
	if len(again.Spec.Volumes) != 1 || len(again.Spec.Containers[0].Env) != 4 {
		t.Errorf("second mutation: %d volumes, %d env", len(again.Spec.Volumes), len(again.Spec.Containers[0].Env))
	}

	// Unlabelled pods are left alone; a bad expiration is refused.
	plain := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}}
	if got, _ := Mutate(plain, sa, d); got != plain {
		t.Error("an unlabelled pod was changed")
	}
	sa.Annotations[TokenExpirationAnnotation] = "60"
	if _, err := Mutate(pod, sa, d); err == nil {
		t.Error("expiration 60 accepted")
	}
	sa.Annotations[TokenExpirationAnnotation] = "7200"
	out, _ = Mutate(pod, sa, d)
	if e := out.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds; *e != 7200 {
		t.Errorf("expiration = %d", *e)
	}
}
