package wiwebhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ConfigName is the MutatingWebhookConfiguration AKS installs.
const ConfigName = "azure-wi-webhook-mutating-webhook-configuration"

const mutatePath = "/mutate-v1-pod"

// Server is the webhook: an HTTPS endpoint on a loopback port that the
// cluster's API server calls, and the configuration that points it there
// while workload identity is enabled.
type Server struct {
	client   kubernetes.Interface
	log      *slog.Logger
	url      string
	caBundle []byte
	srv      *http.Server

	mu       sync.Mutex
	defaults Defaults
	enabled  bool
	kick     chan struct{}
}

// Start listens on 127.0.0.1 with the serving certificate (signed by the
// cluster CA in caFile) and serves until ctx ends; the configuration is
// kept as Set last said.
func Start(ctx context.Context, client kubernetes.Interface, certFile, keyFile, caFile string, log *slog.Logger) (*Server, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{client: client, log: log, caBundle: ca, kick: make(chan struct{}, 1),
		url: "https://" + ln.Addr().String() + mutatePath}
	mux := http.NewServeMux()
	mux.HandleFunc(mutatePath, s.serveMutate)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go s.srv.Serve(tls.NewListener(ln, s.srv.TLSConfig)) //nolint:errcheck // ends with Shutdown
	go func() {
		<-ctx.Done()
		s.srv.Close() //nolint:errcheck // shutting down
	}()
	go s.reconcile(ctx)
	return s, nil
}

// Set turns the webhook configuration on or off and sets the defaults
// mutations use.
func (s *Server) Set(enabled bool, d Defaults) {
	s.mu.Lock()
	s.enabled, s.defaults = enabled, d
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// reconcile makes the configuration match the last Set, retrying while the
// API server refuses.
func (s *Server) reconcile(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		for {
			s.mu.Lock()
			enabled := s.enabled
			s.mu.Unlock()
			err := s.apply(ctx, enabled)
			if err == nil || ctx.Err() != nil {
				break
			}
			s.log.Warn("workload identity webhook configuration", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *Server) apply(ctx context.Context, enabled bool) error {
	api := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if !enabled {
		err := api.Delete(ctx, ConfigName, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	want := s.configuration()
	cur, err := api.Get(ctx, ConfigName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		return err
	} else if err != nil {
		return err
	}
	if reflect.DeepEqual(cur.Webhooks, want.Webhooks) {
		return nil
	}
	cur.Webhooks = want.Webhooks
	_, err = api.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// configuration is the MutatingWebhookConfiguration, as AKS's webhook
// registers it (with the API server's defaults filled in, so that an
// unchanged one compares equal).
func (s *Server) configuration() *admissionregistrationv1.MutatingWebhookConfiguration {
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	timeout := int32(10)
	all := admissionregistrationv1.AllScopes
	url := s.url
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigName, Labels: map[string]string{"azure-workload-identity.io/system": "true"}},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "mutation.azure-workload-identity.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: s.caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &all},
			}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{UseLabel: "true"}},
			NamespaceSelector:       &metav1.LabelSelector{},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			MatchPolicy:             &equivalent,
			ReinvocationPolicy:      &ifNeeded,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1", "v1beta1"},
		}},
	}
}

// serveMutate answers one AdmissionReview.
func (s *Server) serveMutate(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 3<<20))
	if err == nil {
		err = json.Unmarshal(body, &review)
	}
	if err != nil || review.Request == nil {
		http.Error(w, "an AdmissionReview request is required", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	if patch, err := s.mutate(r.Context(), review.Request); err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: err.Error()}
	} else if patch != nil {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	review.Request, review.Response = nil, resp
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(&review) //nolint:errcheck // API server gone
}

// mutate returns the JSON patch for a pod (nil when nothing changes).
func (s *Server) mutate(ctx context.Context, req *admissionv1.AdmissionRequest) ([]byte, error) {
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	name := pod.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	sa, err := s.client.CoreV1().ServiceAccounts(req.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to get service account %s/%s: %w", req.Namespace, name, err)
	}
	s.mu.Lock()
	d := s.defaults
	s.mu.Unlock()
	out, err := Mutate(&pod, sa, d)
	if err != nil {
		return nil, err
	}
	if reflect.DeepEqual(out.Spec, pod.Spec) {
		return nil, nil
	}
	return json.Marshal([]map[string]any{{"op": "replace", "path": "/spec", "value": out.Spec}})
}
