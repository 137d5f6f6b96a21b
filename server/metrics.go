package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/picloud/picloud/models"
)

// serveMetrics serves handler at /metrics on a listener of its own
// (server.metrics_listen), apart from the public one: metrics need no
// login. It returns the address it listens on and a func that stops it.
func serveMetrics(addr string, handler http.Handler, logger *slog.Logger) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (server.metrics_listen): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// metricsHandler serves what g gathers with every series labelled
// node="<node>" (those that carry a node label already keep theirs), so
// the figures of several nodes scraped into one Prometheus stay apart
// without relabelling.
func metricsHandler(g prometheus.Gatherer, node string) http.Handler {
	return promhttp.HandlerFor(nodeGatherer{g: g, node: node}, promhttp.HandlerOpts{})
}

// nodeGatherer adds the node label to what g gathers.
type nodeGatherer struct {
	g    prometheus.Gatherer
	node string
}

// Gather implements prometheus.Gatherer.
func (n nodeGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := n.g.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "node" }) {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String("node"), Value: proto.String(n.node)})
				slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
			}
		}
	}
	return mfs, err
}

// registerWriterMetrics exports what the invocation log left out.
func registerWriterMetrics(reg *prometheus.Registry, w *models.InvocationWriter) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_invocations_unrecorded_total",
			Help: "Invocations not stored because invocations.max_per_second was reached.",
		}, func() float64 { return float64(w.Unrecorded()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "picloud_invocations_dropped_total",
			Help: "Invocations lost to a full write buffer or a failed batch write.",
		}, func() float64 { return float64(w.Dropped()) }),
	)
}
