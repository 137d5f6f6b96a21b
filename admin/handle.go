package admin

import (
	"context"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
)

// DefaultRequestTimeout bounds the work of one admin request when
// Options.RequestTimeout is zero.
const DefaultRequestTimeout = 30 * time.Second

// handlerFunc is the one shape of admin handlers: the handler does its
// work under ctx and either answers rc itself or returns the error, which
// handle maps to a status, logs and writes in one place (fail).
//
// ctx is the only context a handler has for its database work: it
// carries the request's values, not its cancellation, and ends after
// Options.RequestTimeout, so a stuck database answers the request 503
// instead of holding it for good.
type handlerFunc func(ctx context.Context, rc *fasthttp.RequestCtx) error

// handle adapts a handlerFunc to the router.
func (a *API) handle(h handlerFunc) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		ctx, cancel := a.requestContext(rc)
		defer cancel()
		if err := h(ctx, rc); err != nil {
			a.fail(rc, err)
		}
	}
}

// requestContext is the context of a request's work: its values without
// its cancellation, bounded by the request timeout.
//
// A fasthttp.RequestCtx is recycled once its handler returns, but the
// goroutine context.WithCancel starts for a child of a foreign context
// (database/sql makes one per query) may read the parent after that, when
// the server shuts down: a data race. Hence WithoutCancel.
func (a *API) requestContext(rc *fasthttp.RequestCtx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(rc), a.requestTimeout)
}

// requestLog is the logger of one request: every line carries its
// request id and user.
func (a *API) requestLog(rc *fasthttp.RequestCtx) *slog.Logger {
	return a.logger.With("request_id", apierror.RequestID(rc), "user", userOf(rc))
}

// userOf names the user of an authenticated request, for logs; "" before
// authentication.
func userOf(rc *fasthttp.RequestCtx) string {
	if s := sessionOf(rc); s != nil && s.User != nil {
		return s.User.Username
	}
	return ""
}
