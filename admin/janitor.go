package admin

import (
	"context"
	"time"
)

// RunJanitor purges expired sessions and setup tokens and forgets stale
// rate-limit entries, now and then every interval, until ctx ends. At
// start it warns about an app that lost its host to the admin host.
func (a *API) RunJanitor(ctx context.Context, every time.Duration) {
	a.WarnShadowedApp(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.purge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *API) purge(ctx context.Context) {
	now := a.now()
	n, err := a.db.PurgeExpiredSessions(ctx, now)
	if err == nil {
		err = a.db.PurgeExpiredSetupTokens(ctx, now)
	}
	if err != nil && ctx.Err() == nil {
		a.logger.Warn("purge expired sessions", "err", err)
	}
	if n > 0 {
		a.logger.Info("purged expired sessions", "count", n)
	}
	if n, err := a.db.PurgeExpiredAPITokens(ctx, now); err != nil && ctx.Err() == nil {
		a.logger.Warn("purge expired api tokens", "err", err)
	} else if n > 0 {
		a.logger.Info("purged expired api tokens", "count", n)
	}
	if err := a.logins.sweep(ctx, now); err != nil && ctx.Err() == nil {
		a.logger.Warn("sweep login limits", "err", err)
	}
}
