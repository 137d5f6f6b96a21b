package ingress

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the Prometheus metrics of Registry. It is meant
// for a listener of its own (server.metrics_listen): the public listener
// answers /metrics with 404 on every host, since metrics need no login
// and tell an outsider about the apps' traffic and the process.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}
