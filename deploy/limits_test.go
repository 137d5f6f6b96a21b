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
		{"body sizes are ingress's", models.AppSettings{MaxRequestBody: n(10), MaxResponseBody: n(10)}, defaults},
	}
	for _, tt := range tests {
		if got := deploy.AppLimits(defaults, tt.settings); got != tt.want {
			t.Errorf("%s: AppLimits = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
