package deploy_test

import (
	"testing"
	"time"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/deploy"
	"github.com/picloud/picloud/models"
)

func TestAppLimits(t *testing.T) {
	defaults := actors.Limits{MaxConcurrency: 8, QueueLimit: 256, Timeout: 5 * time.Second, MaxOutput: 1024, IdleTimeout: time.Minute}
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name     string
		settings models.AppSettings
		want     actors.Limits
	}{
		{"defaults", models.AppSettings{}, defaults},
		{"timeout", models.AppSettings{TimeoutMS: n(1500)},
			actors.Limits{MaxConcurrency: 8, QueueLimit: 256, Timeout: 1500 * time.Millisecond, MaxOutput: 1024, IdleTimeout: time.Minute}},
		{"concurrency", models.AppSettings{MaxConcurrency: n(2)},
			actors.Limits{MaxConcurrency: 2, QueueLimit: 256, Timeout: 5 * time.Second, MaxOutput: 1024, IdleTimeout: time.Minute}},
		{"output", models.AppSettings{MaxOutput: n(10)},
			actors.Limits{MaxConcurrency: 8, QueueLimit: 256, Timeout: 5 * time.Second, MaxOutput: 10, IdleTimeout: time.Minute}},
		{"request body is ingress's", models.AppSettings{MaxRequestBody: n(10)}, defaults},
		{"response body", models.AppSettings{MaxResponseBody: n(10)},
			actors.Limits{MaxConcurrency: 8, QueueLimit: 256, Timeout: 5 * time.Second, MaxOutput: 1024, IdleTimeout: time.Minute, MaxResponseBody: 10}},
	}
	for _, tt := range tests {
		if got := deploy.AppLimits(defaults, tt.settings); got != tt.want {
			t.Errorf("%s: AppLimits = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestScriptLimits(t *testing.T) {
	// An app that already overrides the config's timeout and concurrency.
	app := actors.Limits{MaxConcurrency: 2, QueueLimit: 256, Timeout: 1500 * time.Millisecond, MaxOutput: 1024, MaxResponseBody: 4096}
	n := func(v int64) *int64 { return &v }
	with := func(f func(*actors.Limits)) actors.Limits {
		l := app
		f(&l)
		return l
	}
	tests := []struct {
		name     string
		settings models.ScriptSettings
		want     actors.Limits
	}{
		{"the app's", models.ScriptSettings{}, app},
		{"timeout", models.ScriptSettings{TimeoutMS: n(250)}, with(func(l *actors.Limits) { l.Timeout = 250 * time.Millisecond })},
		{"concurrency", models.ScriptSettings{MaxConcurrency: n(16)}, with(func(l *actors.Limits) { l.MaxConcurrency = 16 })},
		{"output", models.ScriptSettings{MaxOutput: n(10)}, with(func(l *actors.Limits) { l.MaxOutput = 10 })},
		{"response", models.ScriptSettings{MaxResponseBody: n(1 << 20)}, with(func(l *actors.Limits) { l.MaxResponseBody = 1 << 20 })},
	}
	for _, tt := range tests {
		if got := deploy.ScriptLimits(app, tt.settings); got != tt.want {
			t.Errorf("%s: ScriptLimits = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
