// Package kwatch waits for Kubernetes objects to reach a state — N nodes
// Ready, N pods Running — by list and watch (never by polling), and tells
// when the state was first seen. The benchmarks time clusters with it.
package kwatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Watch counts the objects that satisfy a predicate.
type Watch struct {
	mu     sync.Mutex
	good   map[string]bool
	change chan struct{}
	stop   context.CancelFunc
}

// Nodes watches nodes whose Ready condition is True.
func Nodes(ctx context.Context, cfg *rest.Config) (*Watch, error) {
	return start(ctx, cfg, "", "", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Nodes().Informer()
	}, func(obj any) (string, bool) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return "", false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return n.Name, c.Status == corev1.ConditionTrue
			}
		}
		return n.Name, false
	})
}

// Pods watches pods in a namespace matching a label selector that are
// Running and not being deleted.
func Pods(ctx context.Context, cfg *rest.Config, namespace, selector string) (*Watch, error) {
	return start(ctx, cfg, namespace, selector, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Pods().Informer()
	}, func(obj any) (string, bool) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return "", false
		}
		return p.Namespace + "/" + p.Name, p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
	})
}

func start(ctx context.Context, cfg *rest.Config, namespace, selector string,
	informer func(informers.SharedInformerFactory) cache.SharedIndexInformer, eval func(any) (string, bool)) (*Watch, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 100, 200
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watch{good: map[string]bool{}, change: make(chan struct{}), stop: cancel}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := informer(f)
	update := func(obj any, deleted bool) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj, deleted = d.Obj, true
		}
		name, ok := eval(obj)
		if name == "" {
			return
		}
		w.mu.Lock()
		if ok && !deleted {
			w.good[name] = true
		} else {
			delete(w.good, name)
		}
		close(w.change)
		w.change = make(chan struct{})
		w.mu.Unlock()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { update(obj, false) },
		UpdateFunc: func(_, obj any) { update(obj, false) },
		DeleteFunc: func(obj any) { update(obj, true) },
	}); err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		cancel()
		return nil, fmt.Errorf("watch did not sync")
	}
	return w, nil
}

// Count is how many objects satisfy the predicate now.
func (w *Watch) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.good)
}

// Until waits until at least n objects satisfy the predicate and returns
// when that was first seen.
func (w *Watch) Until(ctx context.Context, n int) (time.Time, error) {
	for {
		w.mu.Lock()
		count, ch := len(w.good), w.change
		w.mu.Unlock()
		if count >= n {
			return time.Now(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d: %w", count, n, ctx.Err())
		}
	}
}

// Stop ends the watch.
func (w *Watch) Stop() { w.stop() }
