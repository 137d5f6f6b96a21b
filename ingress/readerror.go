package ingress

import (
	"errors"
	"net"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
)

// ReadError answers a request fasthttp could not read, in the JSON error
// shape; it is the server's fasthttp.Server.ErrorHandler. Without it, a
// body over server.max_request_body would be answered 400 in plain text.
func ReadError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr *net.OpError
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		apierror.Writef(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			"request body is over the server's limit (server.max_request_body)")
	case errors.As(err, &small):
		apierror.Writef(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "request headers are too large")
	case errors.As(err, &netErr) && netErr.Timeout():
		apierror.Writef(ctx, fasthttp.StatusRequestTimeout, "request_timeout", "the request was not read in time")
	default:
		apierror.Writef(ctx, fasthttp.StatusBadRequest, "bad_request", "the request could not be parsed")
	}
}
