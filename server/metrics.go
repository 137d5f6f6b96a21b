package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/picloud/picloud/models"
)

// serveMetrics serves handler at /metrics on a listener of its own
// (server.metrics_listen), apart from the public one: metrics need no
// login. The returned func stops it.
func serveMetrics(addr string, handler http.Handler, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (server.metrics_listen): %w", addr, err)
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
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
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
