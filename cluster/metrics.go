package cluster

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a node's cluster figures on /metrics: the members it sees
// by status, and the calls it sends to other nodes with their latency.
// Every figure carries the node's name as the constant label "node".
// Metrics is a prometheus.Collector: register it where /metrics gathers.
// The member gauge is read at scrape time; whatever sends calls to other
// nodes (a remote engine) reports each with ObserveRemoteCall. A nil
// *Metrics observes nothing, so a caller need not check.
type Metrics struct {
	callVec *prometheus.CounterVec
	calls   [2]prometheus.Counter // by outcome: ok, error
	latency prometheus.Histogram
	members func() []MemberState
	desc    *prometheus.Desc
}

// Remote call outcomes, the "outcome" label of
// picloud_cluster_remote_calls_total.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// NewMetrics makes a node's cluster figures. members is read at every
// scrape (Node.Members in cluster mode; a server alone reports itself).
func NewMetrics(node string, members func() []MemberState) *Metrics {
	labels := prometheus.Labels{"node": node}
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "picloud_cluster_remote_calls_total",
		Help: "Calls this node sent to script executors on other nodes, by outcome " +
			"(ok: answered, whatever the script said; error: the call failed between the nodes).",
		ConstLabels: labels,
	}, []string{"outcome"})
	return &Metrics{
		callVec: calls,
		calls:   [2]prometheus.Counter{calls.WithLabelValues(OutcomeOK), calls.WithLabelValues(OutcomeError)},
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "picloud_cluster_remote_call_duration_seconds",
			Help:        "Time from sending a call to another node to its answer or failure.",
			ConstLabels: labels,
			// 250 µs (same host) to about 4 s.
			Buckets: prometheus.ExponentialBuckets(0.00025, 4, 8),
		}),
		members: members,
		desc: prometheus.NewDesc("picloud_cluster_members",
			"Cluster members as this node sees them, by status (a server outside cluster mode counts itself alive).",
			[]string{"status"}, labels),
	}
}

// ObserveRemoteCall counts one call sent to another node, which took d
// and failed between the nodes when err is not nil.
func (m *Metrics) ObserveRemoteCall(d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.calls[1].Inc()
	} else {
		m.calls[0].Inc()
	}
	m.latency.Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.callVec.Describe(ch)
	m.latency.Describe(ch)
	ch <- m.desc
}

// Collect implements prometheus.Collector. Every status is reported, 0
// included, so a status that empties is seen to.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.callVec.Collect(ch)
	m.latency.Collect(ch)
	counts := map[string]int{}
	for _, mb := range m.members() {
		counts[mb.Status]++
	}
	for _, st := range []string{StatusAlive, StatusSuspect, StatusLeft, StatusDead} {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}
