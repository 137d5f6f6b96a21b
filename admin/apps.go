package admin

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

type createAppInput struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// validSlug reports whether s is a lowercase DNS label: 1-63 of a-z, 0-9
// and '-', not starting or ending with '-', and not all digits (an
// {app} reference of digits is an id).
func validSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
		digits = digits && c >= '0' && c <= '9'
	}
	return !digits
}

// slugRule says what validSlug accepts, for errors.
const slugRule = "must be a lowercase DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-' and not all digits"

// checkSlug refuses a slug that is not valid or whose
// {slug}.{base_domain} is the admin host.
func (a *API) checkSlug(slug string) error {
	switch {
	case !validSlug(slug):
		return invalid("slug", "%s (got %q)", slugRule, slug)
	case slug == a.reservedSlug:
		return invalid("slug", "%q is reserved: %s is the admin host (server.admin_host), where no app answers", slug, a.adminHost)
	}
	return nil
}

// reservedSlug is the label that makes {label}.{baseDomain} the admin
// host, or "".
func reservedSlug(adminHost, baseDomain string) string {
	base := "." + strings.ToLower(strings.TrimSuffix(baseDomain, "."))
	label, ok := strings.CutSuffix(adminHost, base)
	if !ok || baseDomain == "" || label == "" || strings.Contains(label, ".") {
		return ""
	}
	return label
}

func validateName(field, s string, max int) error {
	switch {
	case s == "":
		return invalid(field, "is required")
	case !utf8.ValidString(s):
		return invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return invalid(field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "must not contain control characters")
		}
	}
	return nil
}

func (a *API) listApps(ctx context.Context, rc *fasthttp.RequestCtx) error {
	apps, err := a.db.ListApps(ctx)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(apps))
	return nil
}

func (a *API) createApp(ctx context.Context, rc *fasthttp.RequestCtx) error {
	var in createAppInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if err := a.checkSlug(in.Slug); err != nil {
		return err
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if err := validateName("name", in.Name, 100); err != nil {
		return err
	}
	app := &models.App{Slug: in.Slug, Name: in.Name}
	if err := a.db.CreateApp(ctx, app); err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusCreated, app)
	return nil
}

// appParam loads the app named by the {app} path parameter (id or slug).
func (a *API) appParam(ctx context.Context, rc *fasthttp.RequestCtx) (*models.App, error) {
	ref, _ := rc.UserValue("app").(string)
	return a.db.App(ctx, ref)
}

func (a *API) getApp(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, a.viewApp(app))
	return nil
}

// patchAppInput is PATCH /apps/{app}: absent fields stay; in settings,
// null resets a limit to the config default.
type patchAppInput struct {
	Name     *string                    `json:"name"`
	Slug     *string                    `json:"slug"`
	Settings map[string]json.RawMessage `json:"settings"`
}

func (a *API) patchApp(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	var in patchAppInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	change, err := a.appChange(app, &in)
	if err != nil {
		return err
	}
	updated, err := a.db.UpdateApp(ctx, app.ID, change)
	if err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, updated)
	return nil
}

// appChange validates a PATCH and turns it into a models.AppChange.
func (a *API) appChange(app *models.App, in *patchAppInput) (models.AppChange, error) {
	var change models.AppChange
	if in.Name != nil {
		if err := validateName("name", *in.Name, 100); err != nil {
			return change, err
		}
		change.Name = in.Name
	}
	if in.Slug != nil && *in.Slug != app.Slug { // an app that holds a reserved slug may keep it
		if err := a.checkSlug(*in.Slug); err != nil {
			return change, err
		}
		change.Slug = in.Slug
	}
	if in.Settings != nil {
		settings := app.Settings
		if err := applyFetchLists(&settings, in.Settings); err != nil {
			return change, err
		}
		if err := applySettings(a.appSettings(&settings), in.Settings); err != nil {
			return change, err
		}
		change.Settings = &settings
	}
	return change, nil
}

func (a *API) deleteApp(ctx context.Context, rc *fasthttp.RequestCtx) error {
	app, err := a.appParam(ctx, rc)
	if err != nil {
		return err
	}
	if _, err := a.db.DeleteApp(ctx, app.ID); err != nil {
		return err
	}
	if err := a.deployed(ctx, app.ID); err != nil {
		return err
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
