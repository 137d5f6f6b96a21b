package admin

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/apierror"
	"github.com/picloud/picloud/models"
	"github.com/picloud/picloud/secrets"
)

// capabilityTimeout bounds the database work of one request to the
// endpoints of kv.go, secrets.go and schedules.go.
const capabilityTimeout = 30 * time.Second

// capabilityHandler is the shape of the SDK v2 endpoints: they return
// their error, and capability answers it in one place.
type capabilityHandler func(ctx context.Context, rc *fasthttp.RequestCtx) error

// capability adapts h to fasthttp: h's database work runs detached from
// the connection, under a deadline, and its error is answered by
// capabilityFail.
func (a *API) capability(h capabilityHandler) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		ctx, cancel := context.WithTimeout(detach(rc), capabilityTimeout)
		defer cancel()
		if err := h(ctx, rc); err != nil {
			a.capabilityFail(rc, err)
		}
	}
}

// capabilityFail answers the errors of the stores behind SDK v2, and
// leaves the others to fail.
func (a *API) capabilityFail(rc *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, models.ErrKVInvalid), errors.Is(err, secrets.ErrInvalidValue):
		apierror.Write(rc, fasthttp.StatusBadRequest, apierror.Error{Code: "invalid_input", Message: err.Error()})
	case errors.Is(err, models.ErrKVQuota):
		apierror.Writef(rc, fasthttp.StatusUnprocessableEntity, "kv_quota_exceeded", err.Error())
	case errors.Is(err, errNoSecretStore):
		apierror.Writef(rc, fasthttp.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		a.fail(rc, err)
	}
}

// appOf loads the app named by the {app} path parameter.
func (a *API) appOf(ctx context.Context, rc *fasthttp.RequestCtx) (*models.App, error) {
	ref, _ := rc.UserValue("app").(string)
	return a.db.App(ctx, ref)
}
