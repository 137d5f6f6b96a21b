package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/ingress"
	"github.com/picloud/picloud/models"
)

// workerStarter is an engine that can prove its worker processes start
// (worker.Engine); the in-process engine has none to start.
type workerStarter interface {
	Ready(ctx context.Context) error
}

// readiness is /readyz: the database answers, its schema is migrated to
// what this binary expects, and script workers can start.
func readiness(db *models.DB, eng engine.Engine) ingress.ReadyFunc {
	return func(ctx context.Context) map[string]error {
		checks := map[string]error{"database": db.Ping(ctx)}
		if checks["database"] == nil {
			pending, err := db.PendingMigrations(ctx)
			if err == nil && len(pending) > 0 {
				err = fmt.Errorf("pending: %s (run picloud migrate)", strings.Join(pending, ", "))
			}
			checks["migrations"] = err
		} else {
			checks["migrations"] = fmt.Errorf("unknown: the database does not answer")
		}
		if w, ok := eng.(workerStarter); ok {
			checks["workers"] = w.Ready(ctx)
		} else {
			checks["workers"] = nil
		}
		return checks
	}
}
