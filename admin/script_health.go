package admin

import (
	"context"
	"time"

	"github.com/picloud/picloud/models"
)

// Script health, as the script list and the status endpoint answer it, so
// that the CLI and the UI say the same: derived from the script's latest
// calls, never "ok" while every one of them fails.
const (
	healthOK       = "ok"
	healthDegraded = "degraded"
	healthFailing  = "failing"
	healthParked   = "parked"
)

// The calls health looks at: a script's last healthCalls calls within the
// last healthWindow. At degradedPercent failures or more it is degraded.
const (
	healthWindow    = 15 * time.Minute
	healthCalls     = 20
	degradedPercent = 10
)

// scriptHealth is a script's health and the calls it was read from.
type scriptHealth struct {
	State string `json:"state"`
	// Calls are the script's latest calls since Since (at most 20),
	// Failures those of them answered with a server error (5xx).
	Calls    int64     `json:"recent_calls"`
	Failures int64     `json:"recent_failures"`
	Since    time.Time `json:"since"`
}

// healthOf derives a health from the parking and the recent calls: parked
// wins; all recent calls failed is failing; degradedPercent of them or
// more is degraded; else ok (also when there was no call).
func healthOf(parked bool, rc models.RecentCalls) string {
	switch {
	case parked:
		return healthParked
	case rc.Calls > 0 && rc.Failures == rc.Calls:
		return healthFailing
	case rc.Failures*100 >= degradedPercent*rc.Calls && rc.Failures > 0:
		return healthDegraded
	}
	return healthOK
}

// recentCalls reads the latest calls of every script of an app, and
// the start of the window they were read in.
func (a *API) recentCalls(ctx context.Context, appID int64) (map[int64]models.RecentCalls, time.Time, error) {
	since := a.now().UTC().Add(-healthWindow)
	calls, err := a.db.RecentScriptCalls(ctx, models.RecentCallsFilter{AppID: appID, Since: since, Last: healthCalls})
	return calls, since, err
}

// healthFrom is a script's health from its calls and its state.
func healthFrom(state string, rc models.RecentCalls, since time.Time) scriptHealth {
	return scriptHealth{State: healthOf(state == stateParked, rc), Calls: rc.Calls, Failures: rc.Failures, Since: since}
}
