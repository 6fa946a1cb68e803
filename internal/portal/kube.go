package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/localaks/localaks/internal/aks"
)

// The bridge to Kubernetes: the portal reads (list and watch, nothing
// else) a running cluster's pods, Services and Ingresses through its API
// server, to name on the picture what the Azure resources serve.

// ErrNotRunning is what KubeConfig answers for a cluster whose control
// plane is not running (yet, or any more).
var ErrNotRunning = errors.New("the control plane is not running")

// KubeConfig is a client configuration for a cluster's running API server
// (ErrNotRunning when it is not). The portal only lists and watches.
type KubeConfig func(c *aks.Cluster) (*rest.Config, error)

const (
	// kubeWait bounds how long a page waits for a cluster's objects to be
	// read the first time; a slower answer arrives as a live update.
	kubeWait = time.Second
	// kubeLinger keeps a cluster's watches open this long after the last
	// page leaves (a reload, or the event stream after the page).
	kubeLinger = time.Minute
	// kubeRetry is how long a failed watch is given before it is tried
	// again.
	kubeRetry = 5 * time.Second
)

// kubeObjects is what the picture shows of a cluster's Kubernetes objects,
// or why it shows none (Status).
type kubeObjects struct {
	Status    string
	Pods      []*corev1.Pod
	Services  []*corev1.Service
	Ingresses []*networkingv1.Ingress
}

// kubeViews keeps one set of watches per cluster while pages show it.
type kubeViews struct {
	connect KubeConfig
	mu      sync.Mutex
	views   map[string]*kubeView // by resource UID
}

// kubeView is one cluster's watches: pods, Services and Ingresses.
type kubeView struct {
	views  *kubeViews
	uid    string
	host   string
	cert   []byte
	cancel context.CancelFunc
	synced []cache.InformerSynced
	pods   cache.SharedIndexInformer
	svcs   cache.SharedIndexInformer
	ings   cache.SharedIndexInformer

	mu      sync.Mutex
	refs    int
	idle    *time.Timer
	changed chan struct{}
	failed  error
	retryAt time.Time
}

// acquire returns the cluster's watches, starting them if need be (nil
// with the reason when the cluster cannot be read; retry tells that it is
// worth trying again later). release gives it back.
func (kv *kubeViews) acquire(c *aks.Cluster) (v *kubeView, status string, retry bool) {
	uid := c.Props.ResourceUID
	if c.Props.PowerState != nil && c.Props.PowerState.Code == "Stopped" {
		kv.drop(uid)
		return nil, "the control plane is stopped: no Kubernetes objects to show", false
	}
	cfg, err := kv.connect(c)
	if errors.Is(err, ErrNotRunning) {
		kv.drop(uid)
		return nil, "the control plane is not running yet", false
	}
	if err != nil {
		return nil, "the control plane cannot be reached: " + err.Error(), true
	}
	kv.mu.Lock()
	v = kv.views[uid]
	if v != nil && (v.host != cfg.Host || string(v.cert) != string(cfg.CertData) || v.stale()) {
		// A new API server address or credential (rotated certificates),
		// or a failure whose time to retry has come.
		v.stop()
		v = nil
	}
	if v != nil {
		v.hold()
		kv.mu.Unlock()
		return v, "", false
	}
	kv.mu.Unlock()
	// Started without the lock: the first answer may take kubeWait.
	fresh, err := kv.start(uid, cfg)
	if err != nil {
		return nil, "the control plane does not answer: " + err.Error(), true
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if v = kv.views[uid]; v == nil {
		v = fresh
		kv.views[uid] = v
	} else {
		fresh.cancel() // another page started it meanwhile
	}
	v.hold()
	return v, "", false
}

// hold takes a reference (the views' lock held, so that no linger timer
// or drop stops the view in between).
func (v *kubeView) hold() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refs++
	if v.idle != nil {
		v.idle.Stop()
		v.idle = nil
	}
}

// drop stops a cluster's watches now (it stopped).
func (kv *kubeViews) drop(uid string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if v := kv.views[uid]; v != nil {
		v.stop()
	}
}

// stale tells that the view failed and its time to retry has come.
func (v *kubeView) stale() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failed != nil && !time.Now().Before(v.retryAt)
}

// release gives a view back; the last release stops it after kubeLinger.
func (v *kubeView) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.refs--
	if v.refs > 0 {
		return
	}
	v.idle = time.AfterFunc(kubeLinger, func() {
		v.views.mu.Lock()
		defer v.views.mu.Unlock()
		v.mu.Lock()
		unused := v.refs == 0
		v.mu.Unlock()
		if unused && v.views.views[v.uid] == v {
			v.stop()
		}
	})
}

// stop ends the view's watches (the views' lock held).
func (v *kubeView) stop() {
	v.cancel()
	if v.views.views[v.uid] == v {
		delete(v.views.views, v.uid)
	}
	v.signal()
}

func (kv *kubeViews) start(uid string, cfg *rest.Config) (*kubeView, error) {
	// (No client timeout: it would cut the watches; the first request is
	// bounded by its own context.)
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "localaks-portal"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// One request first, bounded by kubeWait: informers retry a server
	// that refuses connections without telling.
	probe, cancelProbe := context.WithTimeout(context.Background(), kubeWait)
	defer cancelProbe()
	if err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(probe).Error(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &kubeView{views: kv, uid: uid, host: cfg.Host, cert: cfg.CertData, cancel: cancel, changed: make(chan struct{})}
	f := informers.NewSharedInformerFactory(cs, 0)
	v.pods = f.Core().V1().Pods().Informer()
	v.svcs = f.Core().V1().Services().Informer()
	v.ings = f.Networking().V1().Ingresses().Informer()
	for _, inf := range []cache.SharedIndexInformer{v.pods, v.svcs, v.ings} {
		// Only what the picture reads is kept.
		if err := inf.SetTransform(func(obj any) (any, error) {
			if m, ok := obj.(metav1.Object); ok {
				m.SetManagedFields(nil)
			}
			return obj, nil
		}); err != nil {
			cancel()
			return nil, err
		}
		if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) { v.fail(err) }); err != nil {
			cancel()
			return nil, err
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { v.signal() },
			UpdateFunc: func(any, any) { v.signal() },
			DeleteFunc: func(any) { v.signal() },
		}); err != nil {
			cancel()
			return nil, err
		}
		v.synced = append(v.synced, inf.HasSynced)
	}
	f.Start(ctx.Done())
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), v.synced...) {
			v.signal()
		}
	}()
	return v, nil
}

// fail records a watch that could not be kept (the control plane went away
// or refuses): the view says so until kubeRetry has passed.
func (v *kubeView) fail(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return // a watch closed or expired: the reflector lists again
	}
	v.mu.Lock()
	first := v.failed == nil
	v.failed, v.retryAt = err, time.Now().Add(kubeRetry)
	v.mu.Unlock()
	if first {
		v.signal()
	}
}

// signal tells those waiting on changed that the objects changed.
func (v *kubeView) signal() {
	v.mu.Lock()
	defer v.mu.Unlock()
	close(v.changed)
	v.changed = make(chan struct{})
}

// changes is closed at the next change of the view's objects.
func (v *kubeView) changes() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

// retry is when a failed view is tried again (zero if it has not failed).
func (v *kubeView) retry() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed == nil {
		return time.Time{}
	}
	return v.retryAt
}

// objects reads the view, waiting up to wait for its first answer.
func (v *kubeView) objects(ctx context.Context, wait time.Duration) kubeObjects {
	v.mu.Lock()
	failed := v.failed
	v.mu.Unlock()
	if failed != nil {
		return kubeObjects{Status: "the control plane does not answer: " + failed.Error()}
	}
	if !v.hasSynced() {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		if !cache.WaitForCacheSync(ctx.Done(), v.synced...) {
			return kubeObjects{Status: "reading the cluster's objects…"}
		}
	}
	var k kubeObjects
	for _, o := range v.pods.GetStore().List() {
		k.Pods = append(k.Pods, o.(*corev1.Pod))
	}
	for _, o := range v.svcs.GetStore().List() {
		if s := o.(*corev1.Service); s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			k.Services = append(k.Services, s)
		}
	}
	for _, o := range v.ings.GetStore().List() {
		k.Ingresses = append(k.Ingresses, o.(*networkingv1.Ingress))
	}
	sort.Slice(k.Pods, func(i, j int) bool { return objectName(k.Pods[i]) < objectName(k.Pods[j]) })
	sort.Slice(k.Services, func(i, j int) bool { return objectName(k.Services[i]) < objectName(k.Services[j]) })
	sort.Slice(k.Ingresses, func(i, j int) bool { return objectName(k.Ingresses[i]) < objectName(k.Ingresses[j]) })
	return k
}

func (v *kubeView) hasSynced() bool {
	for _, s := range v.synced {
		if !s() {
			return false
		}
	}
	return true
}

// objectName is namespace/name.
func objectName(o metav1.Object) string { return fmt.Sprintf("%s/%s", o.GetNamespace(), o.GetName()) }
