package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/picloud/picloud/actors"
)

// parkWriteTimeout bounds storing one parking.
const parkWriteTimeout = 10 * time.Second

// recordParked stores a parking this node's router made, so that every
// node parks the script (docs/cluster.md, "Parking holds cluster-wide").
// It runs on the router's goroutine: the write goes to the background.
// A parking that is not stored still holds here.
func (s *Server) recordParked(p actors.Parked) {
	go func() {
		ctx, cancel := context.WithTimeout(s.bg, parkWriteTimeout)
		defer cancel()
		if err := s.deployer.RecordParked(ctx, p); err != nil && ctx.Err() == nil {
			s.logger.Warn("store a parking; it holds on this node only", slog.Int64("script", p.ScriptID),
				slog.Int64("version", p.Version), slog.Any("err", err))
		}
	}()
}
