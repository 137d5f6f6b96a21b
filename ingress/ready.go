package ingress

import (
	"context"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"
)

// pathOpenAPI is where the admin API's OpenAPI document is served.
const pathOpenAPI = "/api/v1/openapi.json"

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// ReadyFunc checks what a server needs to serve and names each check
// with its outcome (nil: fine). It answers /readyz, which load balancers
// and orchestrators ask before sending traffic, while /healthz only says
// the process is up.
type ReadyFunc func(ctx context.Context) map[string]error

// readyAnswer is the body of /readyz.
type readyAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// serveReady answers 200 when every check passes, else 503, with each
// check's outcome.
func (s *Server) serveReady(ctx *fasthttp.RequestCtx) {
	ans := readyAnswer{Status: "ready", Checks: map[string]string{}}
	if s.opts.Ready != nil {
		c, cancel := context.WithTimeout(context.Background(), readyTimeout)
		results := s.opts.Ready(c)
		cancel()
		for name, err := range results {
			ans.Checks[name] = "ok"
			if err != nil {
				ans.Checks[name] = err.Error()
				ans.Status = "not ready"
			}
		}
	}
	b, _ := json.Marshal(ans)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	if ans.Status != "ready" {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
	ctx.SetBody(b)
}
