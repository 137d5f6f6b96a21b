package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// errNoSecretStore: the server runs without a secret store.
var errNoSecretStore = errors.New("secrets are not available on this server")

// putSecretInput is PUT /apps/{app}/secrets/{name}. The value goes in
// and never comes out: no endpoint answers it, and no log line shows it.
type putSecretInput struct {
	Value string `json:"value"`
}

func (a *API) listSecrets(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if a.secrets == nil {
		return errNoSecretStore
	}
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	items, err := a.secrets.List(ctx, app.ID)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(items))
	return nil
}

func (a *API) putSecret(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if a.secrets == nil {
		return errNoSecretStore
	}
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	name, _ := rc.UserValue("name").(string)
	if err := models.ValidateSecretName(name); err != nil {
		return invalid("name", "%v", err)
	}
	var in putSecretInput
	if err := decode(rc, &in); err != nil {
		// decode's errors quote the JSON syntax, never the value.
		return err
	}
	sec, created, err := a.secrets.Put(ctx, app.ID, name, in.Value)
	if err != nil {
		return err
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
	}
	a.reply(rc, status, sec)
	return nil
}

func (a *API) deleteSecret(ctx context.Context, rc *fasthttp.RequestCtx) error {
	if a.secrets == nil {
		return errNoSecretStore
	}
	app, err := a.appOf(ctx, rc)
	if err != nil {
		return err
	}
	name, _ := rc.UserValue("name").(string)
	if err := a.secrets.Delete(ctx, app.ID, name); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// notFoundf is a models.ErrNotFound naming what is missing.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", models.ErrNotFound, fmt.Sprintf(format, args...))
}
