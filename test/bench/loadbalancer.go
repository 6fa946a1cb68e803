package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// loadResult is what a load run measured.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
}

// loadBalancerPath exposes the Deployment app (its pods serve hello on
// 8080) as a Service of type LoadBalancer and measures the time until its
// external IP answers a GET from the host; then the same load client
// (eight keep-alive clients, 5 s) against the external IP from the host
// and straight against the pod's address from inside the virtual network.
func loadBalancerPath(ctx context.Context, cs kubernetes.Interface, app string) (first time.Duration, viaLB, direct loadResult, err error) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-lb", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	t0 := time.Now()
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return 0, viaLB, direct, err
	}
	url, err := firstOK(ctx, func(ctx context.Context) string {
		s, err := cs.CoreV1().Services("default").Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil || len(s.Status.LoadBalancer.Ingress) == 0 {
			return ""
		}
		return s.Status.LoadBalancer.Ingress[0].IP
	})
	if err != nil {
		return 0, viaLB, direct, fmt.Errorf("first response through the load balancer: %w", err)
	}
	first = time.Since(t0)
	if viaLB, err = httpLoad(ctx, url, nil, 5*time.Second); err != nil {
		return first, viaLB, direct, err
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil || len(pods.Items) == 0 {
		return first, viaLB, direct, fmt.Errorf("pods of %s: %v", app, err)
	}
	podAddr := net.JoinHostPort(pods.Items[0].Status.PodIP, "8080")
	dial, err := vnetDialer(podAddr)
	if err != nil {
		return first, viaLB, direct, err
	}
	direct, err = httpLoad(ctx, "http://"+podAddr+"/", dial, 5*time.Second)
	return first, viaLB, direct, err
}

// vnetDialer dials from inside the virtual network's namespace that
// reaches addr (localaks's lak-… namespaces).
func vnetDialer(addr string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	paths, _ := filepath.Glob("/run/netns/lak-*")
	for _, p := range paths {
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			ns, err := netns.GetFromPath(p)
			if err != nil {
				return nil, err
			}
			defer ns.Close()
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			orig, err := netns.Get()
			if err != nil {
				return nil, err
			}
			defer orig.Close()
			if err := netns.Set(ns); err != nil {
				return nil, err
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if serr := netns.Set(orig); serr != nil {
				goruntime.LockOSThread() // retire the thread
				return nil, serr
			}
			return c, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := dial(ctx, "tcp", addr)
		cancel()
		if err == nil {
			c.Close()
			return dial, nil
		}
	}
	return nil, fmt.Errorf("no virtual network namespace reaches %s", addr)
}

// httpLoad has eight keep-alive clients GET url until d has passed; dial,
// when set, makes their connections.
func httpLoad(ctx context.Context, url string, dial func(ctx context.Context, network, addr string) (net.Conn, error), d time.Duration) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DialContext: dial}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) && ctx.Err() == nil {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, fmt.Errorf("load %s: %w", url, firstErr)
	}
	if len(lat) == 0 {
		return loadResult{}, fmt.Errorf("load %s: no request finished", url)
	}
	slices.Sort(lat)
	return loadResult{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}

// gatewayPath puts an Ingress of the application gateway's class in front
// of Service svc (port 80 → the app's pods) and measures the time until
// the gateway answers a GET from the host with 200, then the load client
// through the gateway.
func gatewayPath(ctx context.Context, cs kubernetes.Interface, svc string) (first time.Duration, viaGW loadResult, err error) {
	class, prefix := "azure-application-gateway", networkingv1.PathTypePrefix
	t0 := time.Now()
	if _, err := cs.NetworkingV1().Ingresses("default").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: svc},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{}); err != nil {
		return 0, viaGW, err
	}
	url, err := firstOK(ctx, func(ctx context.Context) string {
		ing, err := cs.NetworkingV1().Ingresses("default").Get(ctx, svc, metav1.GetOptions{})
		if err != nil || len(ing.Status.LoadBalancer.Ingress) == 0 {
			return ""
		}
		return ing.Status.LoadBalancer.Ingress[0].IP
	})
	if err != nil {
		return 0, viaGW, fmt.Errorf("first response through the application gateway: %w", err)
	}
	first = time.Since(t0)
	viaGW, err = httpLoad(ctx, url, nil, 5*time.Second)
	return first, viaGW, err
}

// firstOK polls until address (which says "" while there is none yet)
// gives an address whose "/" answers a GET from the host with 200, and
// returns that URL.
func firstOK(ctx context.Context, address func(ctx context.Context) string) (string, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var url string
	err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if url == "" {
			ip := address(ctx)
			if ip == "" {
				return false, nil
			}
			url = "http://" + ip + "/"
		}
		resp, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return url, err
}
