package server

import (
	"errors"
	"log/slog"

	"github.com/picloud/picloud/config"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/internal/fdlimit"
)

// connLimits raises the open-file limit to the hard limit and returns
// the connection limits of cfg, server.max_connections "auto" derived
// from the open-file limit, and the memory responses being read may hold.
func connLimits(cfg *config.Config, logger *slog.Logger) ingress.ConnLimits {
	files, err := fdlimit.Raise()
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		logger.Warn("open-file limit", "err", err)
	}
	room := ingress.MaxConnectionsFor(files)
	limits := ingress.ConnLimits{
		Max:            cfg.Server.MaxConnections,
		PerClient:      cfg.Server.MaxConnectionsPerIP,
		ResponseMemory: cfg.Server.MaxResponseMemory,
		TrustedProxies: cfg.Server.Proxies(),
	}
	switch {
	case limits.Max == 0:
		limits.Max = room
	case files > 0 && limits.Max > room:
		logger.Warn("server.max_connections leaves too few files for the rest of the server: "+
			"at the open-file limit new connections wait in the backlog (accept is retried)",
			"max_connections", limits.Max, "open_file_limit", files, "suggested", room)
	}
	logger.Info("connection limits", "max_connections", limits.Max,
		"max_connections_per_ip", limits.PerClient, "open_file_limit", files)
	return limits
}
