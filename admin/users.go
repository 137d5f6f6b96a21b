package admin

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/models"
)

// maxUsernameLen bounds a username.
const maxUsernameLen = 64

// validUsername reports whether s is 1-64 ASCII letters, digits, '.',
// '_', '-' and '@', starting with a letter or digit: names that read the
// same everywhere they show, and fold to lowercase alike on every
// database.
func validUsername(s string) bool {
	if len(s) == 0 || len(s) > maxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-' && c != '@') {
			return false
		}
	}
	return true
}

// validateUser checks a new user's name and password.
func validateUser(username, password string) error {
	if !validUsername(username) {
		return invalid("username", "must be 1-%d of ASCII letters, digits, '.', '_', '-' and '@', starting with a letter or digit", maxUsernameLen)
	}
	return validatePassword("password", password)
}

type createUserInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

type patchUserInput struct {
	Disabled *bool `json:"disabled"`
}

type passwordInput struct {
	// CurrentPassword is required to change one's own password.
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

func (a *API) listUsers(ctx context.Context, rc *fasthttp.RequestCtx) error {
	users, err := a.db.ListAdminUsers(ctx)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, list(users))
	return nil
}

func (a *API) createUser(ctx context.Context, rc *fasthttp.RequestCtx) error {
	var in createUserInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if err := validateUser(in.Username, in.Password); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = models.RoleAdmin
	}
	if in.Role != models.RoleAdmin {
		return invalid("role", "must be %q (the only role so far), got %q", models.RoleAdmin, in.Role)
	}
	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		return err
	}
	user := &models.AdminUser{Username: in.Username, PasswordHash: hash, Role: in.Role}
	if err := a.db.CreateAdminUser(ctx, user); err != nil {
		return err
	}
	a.logger.Info("admin user created", "username", user.Username, "by", sessionOf(rc).User.Username)
	a.reply(rc, fasthttp.StatusCreated, user)
	return nil
}

// userParam loads the user named by the {id} path parameter.
func (a *API) userParam(ctx context.Context, rc *fasthttp.RequestCtx) (*models.AdminUser, error) {
	id, err := idParam(rc, "id")
	if err != nil {
		return nil, err
	}
	return a.db.AdminUser(ctx, id)
}

func (a *API) getUser(ctx context.Context, rc *fasthttp.RequestCtx) error {
	user, err := a.userParam(ctx, rc)
	if err != nil {
		return err
	}
	a.reply(rc, fasthttp.StatusOK, user)
	return nil
}

// patchUser disables or enables a user. Disabling ends every session of
// the user; the last active admin cannot be disabled.
func (a *API) patchUser(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	var in patchUserInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if in.Disabled == nil {
		return invalid("disabled", "is required (true or false)")
	}
	user, err := a.db.SetAdminUserDisabled(ctx, id, *in.Disabled)
	if err != nil {
		return err
	}
	a.logger.Info("admin user changed", "username", user.Username, "disabled", user.Disabled, "by", sessionOf(rc).User.Username)
	a.reply(rc, fasthttp.StatusOK, user)
	return nil
}

// deleteUser deletes a user and its sessions; never the last active
// admin.
func (a *API) deleteUser(ctx context.Context, rc *fasthttp.RequestCtx) error {
	id, err := idParam(rc, "id")
	if err != nil {
		return err
	}
	if err := a.db.DeleteAdminUser(ctx, id); err != nil {
		return err
	}
	a.logger.Info("admin user deleted", "user", id, "by", sessionOf(rc).User.Username)
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// setPassword changes a user's password and ends the user's other
// sessions. One's own password needs the current one; a wrong current
// password counts as a failed login.
func (a *API) setPassword(ctx context.Context, rc *fasthttp.RequestCtx) error {
	user, err := a.userParam(ctx, rc)
	if err != nil {
		return err
	}
	var in passwordInput
	if err := decode(rc, &in); err != nil {
		return err
	}
	if err := validatePassword("password", in.Password); err != nil {
		return err
	}
	s := sessionOf(rc)
	keep := int64(0)
	if user.ID == s.UserID {
		keep = s.ID
		if err := a.checkCurrentPassword(ctx, rc, user, in.CurrentPassword); err != nil {
			return err
		}
	}
	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		return err
	}
	if err := a.db.SetAdminUserPassword(ctx, user.ID, hash, keep); err != nil {
		return err
	}
	a.logger.Info("password changed", "username", user.Username, "by", s.User.Username)
	rc.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// checkCurrentPassword verifies the current password of the caller's own
// account under the login rate limits.
func (a *API) checkCurrentPassword(ctx context.Context, rc *fasthttp.RequestCtx, user *models.AdminUser, current string) error {
	if current == "" {
		return invalid("current_password", "is required to change your own password")
	}
	now, ip := a.now(), a.clientIP(rc)
	if wait, err := a.logins.wait(ctx, user.Username, ip, now); err != nil || wait > 0 {
		return throttled(wait, err)
	}
	if len(current) > maxPasswordBytes {
		current = current[:maxPasswordBytes]
	}
	ok, err := a.hasher.verify(ctx, user.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		if err := a.logins.failed(ctx, user.Username, ip, now); err != nil {
			return err
		}
		return &forbidden{code: "wrong_password", msg: "current_password is wrong"}
	}
	return nil
}
