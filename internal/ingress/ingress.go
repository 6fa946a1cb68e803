// Package ingress sets the status of Ingresses served by AKS's ingress
// add-ons, as their controllers do: the application routing add-on's NGINX
// publishes its Service's load balancer address on every Ingress of class
// webapprouting.kubernetes.azure.com.
package ingress

import (
	"context"
	"log/slog"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// App routing's class, controller and published Service.
const (
	AppRoutingClass     = "webapprouting.kubernetes.azure.com"
	AppRoutingNamespace = "app-routing-system"
	appRoutingService   = "nginx"
	legacyClassKey      = "kubernetes.io/ingress.class"
)

// Controller publishes ingress controllers' addresses on Ingresses.
type Controller struct {
	client   kubernetes.Interface
	log      *slog.Logger
	ingress  cache.SharedIndexInformer
	services cache.SharedIndexInformer
	factory  informers.SharedInformerFactory
}

// New builds a controller; Run runs it.
func New(client kubernetes.Interface, log *slog.Logger) *Controller {
	f := informers.NewSharedInformerFactory(client, 0)
	return &Controller{client: client, log: log, ingress: f.Networking().V1().Ingresses().Informer(),
		services: f.Core().V1().Services().Informer(), factory: f}
}

// Run syncs on every change until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	return Resync(ctx, c.log, "ingress status", c.sync, c.ingress, c.services)
}

// class is an Ingress's class, by field or legacy annotation.
func class(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[legacyClassKey]
}

func (c *Controller) sync(ctx context.Context) error {
	var addrs []networkingv1.IngressLoadBalancerIngress
	if obj, ok, _ := c.services.GetStore().GetByKey(AppRoutingNamespace + "/" + appRoutingService); ok {
		svc := obj.(*corev1.Service)
		for _, in := range svc.Status.LoadBalancer.Ingress {
			addrs = append(addrs, networkingv1.IngressLoadBalancerIngress{IP: in.IP, Hostname: in.Hostname})
		}
	}
	for _, obj := range c.ingress.GetStore().List() {
		ing := obj.(*networkingv1.Ingress)
		if class(ing) != AppRoutingClass {
			continue
		}
		if err := SetAddresses(ctx, c.client, ing, addrs); err != nil {
			return err
		}
	}
	return nil
}

// SetAddresses writes an Ingress's status addresses unless they are
// already what it shows.
func SetAddresses(ctx context.Context, client kubernetes.Interface, ing *networkingv1.Ingress, addrs []networkingv1.IngressLoadBalancerIngress) error {
	if reflect.DeepEqual(ing.Status.LoadBalancer.Ingress, addrs) || (len(addrs) == 0 && len(ing.Status.LoadBalancer.Ingress) == 0) {
		return nil
	}
	next := ing.DeepCopy()
	next.Status.LoadBalancer.Ingress = addrs
	_, err := client.NetworkingV1().Ingresses(ing.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return err
}
