package admin

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultRequestTimeout bounds the work of one admin request when
// Options.RequestTimeout is zero.
const DefaultRequestTimeout = 30 * time.Second

// handlerFunc is the shape admin handlers move to: the handler does its
// work under ctx and either answers rc itself or returns the error, which
// handle maps to a status, logs and writes in one place (fail).
//
// ctx carries the request's values without its cancellation (see detach)
// and a deadline of Options.RequestTimeout, so a stuck database answers
// the request 503 instead of holding it for good.
type handlerFunc func(ctx context.Context, rc *fasthttp.RequestCtx) error

// handle adapts a handlerFunc to the router. The handlers written before
// it still call fail themselves and can move to it one by one.
func (a *API) handle(h handlerFunc) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		ctx, cancel := a.requestContext(rc)
		defer cancel()
		if err := h(ctx, rc); err != nil {
			a.fail(rc, err)
		}
	}
}

// requestContext is the context of a request's work: detached from the
// connection, bounded by the request timeout.
func (a *API) requestContext(rc *fasthttp.RequestCtx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(detach(rc), a.requestTimeout)
}

// userOf names the user of an authenticated request, for logs; "" before
// authentication.
func userOf(rc *fasthttp.RequestCtx) string {
	if s := sessionOf(rc); s != nil && s.User != nil {
		return s.User.Username
	}
	return ""
}
