package autoscaler

import (
	"context"
	"regexp"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// StatusConfigMap is the autoscaler's status in kube-system: its YAML, in
// the format of cluster-autoscaler 1.30 and later, and the annotation with
// the time of the last update.
const (
	StatusConfigMap       = "cluster-autoscaler-status"
	lastUpdatedAnnotation = "cluster-autoscaler.kubernetes.io/last-updated"
	lastUpdatedTimeFormat = "2006-01-02 15:04:05.999999999 -0700 MST"
)

// The status document (clusterstate/api's types, by their JSON names).
type autoscalerStatus struct {
	Time             string            `json:"time"`
	AutoscalerStatus string            `json:"autoscalerStatus"`
	Message          string            `json:"message,omitempty"`
	ClusterWide      clusterWide       `json:"clusterWide"`
	NodeGroups       []nodeGroupStatus `json:"nodeGroups,omitempty"`
}

type clusterWide struct {
	Health    healthCondition    `json:"health"`
	ScaleUp   scaleUpCondition   `json:"scaleUp"`
	ScaleDown scaleDownCondition `json:"scaleDown"`
}

type healthCondition struct {
	Status              string      `json:"status"`
	NodeCounts          nodeCounts  `json:"nodeCounts"`
	CloudProviderTarget *int        `json:"cloudProviderTarget,omitempty"`
	MinSize             *int        `json:"minSize,omitempty"`
	MaxSize             *int        `json:"maxSize,omitempty"`
	LastProbeTime       metav1.Time `json:"lastProbeTime"`
	LastTransitionTime  metav1.Time `json:"lastTransitionTime"`
}

type nodeCounts struct {
	Registered       registeredCounts `json:"registered"`
	LongUnregistered int              `json:"longUnregistered"`
	Unregistered     int              `json:"unregistered"`
}

type registeredCounts struct {
	Total        int           `json:"total"`
	Ready        int           `json:"ready"`
	NotStarted   int           `json:"notStarted"`
	BeingDeleted int           `json:"beingDeleted,omitempty"`
	Unready      unreadyCounts `json:"unready"`
}

type unreadyCounts struct {
	Total           int `json:"total"`
	ResourceUnready int `json:"resourceUnready"`
}

type scaleUpCondition struct {
	Status             string       `json:"status"`
	BackoffInfo        *backoffInfo `json:"backoffInfo,omitempty"`
	LastProbeTime      metav1.Time  `json:"lastProbeTime"`
	LastTransitionTime metav1.Time  `json:"lastTransitionTime"`
}

type backoffInfo struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

type scaleDownCondition struct {
	Status             string      `json:"status"`
	Candidates         int         `json:"candidates,omitempty"`
	LastProbeTime      metav1.Time `json:"lastProbeTime"`
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
}

type nodeGroupStatus struct {
	Name      string             `json:"name"`
	Health    healthCondition    `json:"health"`
	ScaleUp   scaleUpCondition   `json:"scaleUp"`
	ScaleDown scaleDownCondition `json:"scaleDown"`
}

type transition struct {
	status string
	since  time.Time
}

// statusWriter keeps the ConfigMap and each condition's transition time.
type statusWriter struct {
	client      kubernetes.Interface
	mu          sync.Mutex
	transitions map[string]transition
	cm          *corev1.ConfigMap
}

// since records status under key and returns when it last changed.
func (w *statusWriter) since(key, status string, now time.Time) metav1.Time {
	t, ok := w.transitions[key]
	if !ok || t.status != status {
		t = transition{status: status, since: now}
		w.transitions[key] = t
	}
	return metav1.NewTime(t.since)
}

func (w *statusWriter) write(ctx context.Context, now time.Time, order []*group, h clusterHealth, up scaleUpOutcome, down scaleDownOutcome, backoffs map[string]backoff) {
	w.mu.Lock()
	defer w.mu.Unlock()
	probe := metav1.NewTime(now)
	health := "Healthy"
	if !h.healthy {
		health = "Unhealthy"
	}
	upcoming, candidates := 0, 0
	for _, g := range order {
		upcoming += g.upcoming()
		candidates += down.candidates[g.ScaleSet]
	}
	upStatus := "NoActivity"
	switch {
	case upcoming > 0 || up.triggered:
		upStatus = "InProgress"
	case up.needed:
		upStatus = "Needed"
	}
	downStatus := "NoCandidates"
	if candidates > 0 {
		downStatus = "CandidatesPresent"
	}
	st := autoscalerStatus{
		Time: now.Format(lastUpdatedTimeFormat), AutoscalerStatus: "Running",
		ClusterWide: clusterWide{
			Health: healthCondition{Status: health, NodeCounts: nodeCounts{Registered: registeredCounts{
				Total: h.total, Ready: h.ready, Unready: unreadyCounts{Total: h.unready}}},
				LastProbeTime: probe, LastTransitionTime: w.since("health", health, now)},
			ScaleUp:   scaleUpCondition{Status: upStatus, LastProbeTime: probe, LastTransitionTime: w.since("scaleUp", upStatus, now)},
			ScaleDown: scaleDownCondition{Status: downStatus, Candidates: candidates, LastProbeTime: probe, LastTransitionTime: w.since("scaleDown", downStatus, now)},
		},
	}
	sorted := append([]*group(nil), order...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ScaleSet < sorted[j].ScaleSet })
	for _, g := range sorted {
		target, minSize, maxSize := g.target, g.Min, g.Max
		gHealth := "Healthy"
		if len(g.nodes) > 0 && g.ready == 0 {
			gHealth = "Unhealthy"
		}
		gUp := scaleUpCondition{Status: "NoActivity"}
		if b, ok := backoffs[g.ScaleSet]; ok {
			gUp = scaleUpCondition{Status: "Backoff", BackoffInfo: &backoffInfo{ErrorCode: b.code, ErrorMessage: b.msg}}
		} else if g.upcoming() > 0 {
			gUp.Status = "InProgress"
		}
		gUp.LastProbeTime, gUp.LastTransitionTime = probe, w.since(g.ScaleSet+"/scaleUp", gUp.Status, now)
		gDown := "NoCandidates"
		if down.candidates[g.ScaleSet] > 0 {
			gDown = "CandidatesPresent"
		}
		st.NodeGroups = append(st.NodeGroups, nodeGroupStatus{
			Name: g.ScaleSet,
			Health: healthCondition{Status: gHealth, NodeCounts: nodeCounts{
				Registered: registeredCounts{Total: len(g.nodes), Ready: g.ready, BeingDeleted: g.deleting,
					Unready: unreadyCounts{Total: len(g.nodes) - g.ready}},
				Unregistered: g.unregistered()},
				CloudProviderTarget: &target, MinSize: &minSize, MaxSize: &maxSize,
				LastProbeTime: probe, LastTransitionTime: w.since(g.ScaleSet+"/health", gHealth, now)},
			ScaleUp:   gUp,
			ScaleDown: scaleDownCondition{Status: gDown, Candidates: down.candidates[g.ScaleSet], LastProbeTime: probe, LastTransitionTime: w.since(g.ScaleSet+"/scaleDown", gDown, now)},
		})
	}
	doc, err := yaml.Marshal(st)
	if err != nil {
		return
	}
	w.put(ctx, map[string]string{"status": string(doc)}, now)
}

// put creates or updates the ConfigMap.
func (w *statusWriter) put(ctx context.Context, data map[string]string, now time.Time) {
	cms := w.client.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	cm, err := cms.Get(ctx, StatusConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: StatusConfigMap, Namespace: metav1.NamespaceSystem}}
		cm.Annotations = map[string]string{lastUpdatedAnnotation: now.Format(lastUpdatedTimeFormat)}
		cm.Data = data
		if cm, err = cms.Create(ctx, cm, metav1.CreateOptions{}); err == nil {
			w.cm = cm
		}
		return
	} else if err != nil {
		return
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[lastUpdatedAnnotation] = now.Format(lastUpdatedTimeFormat)
	cm.Data = data
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err == nil {
		w.cm = cm
	}
}

// object is the ConfigMap as events refer to it.
func (w *statusWriter) object() *corev1.ConfigMap {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cm != nil {
		return w.cm
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: StatusConfigMap, Namespace: metav1.NamespaceSystem}}
}

// remove deletes the ConfigMap (the autoscaler stopped).
func (w *statusWriter) remove(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Delete(ctx, StatusConfigMap, metav1.DeleteOptions{})
	if err == nil || apierrors.IsNotFound(err) {
		w.cm = nil
	}
}

// eventOnStatus records an event on the status ConfigMap, where the
// autoscaler reports its own actions.
func (a *Autoscaler) eventOnStatus(_ context.Context, kind, reason, msg string) {
	a.rec.Event(a.status.object(), kind, reason, msg)
}

// priorityOf is the highest priority whose pattern matches name.
func priorityOf(name string, prio map[int][]string) (int, bool) {
	best, found := 0, false
	for p, patterns := range prio {
		for _, pat := range patterns {
			re, err := regexp.Compile(pat)
			if err != nil || !re.MatchString(name) {
				continue
			}
			if !found || p > best {
				best, found = p, true
			}
		}
	}
	return best, found
}
