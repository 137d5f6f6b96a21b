package admin

import (
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

func (a *API) listUsers(ctx *fasthttp.RequestCtx) {
	users, err := a.db.ListAdminUsers(detach(ctx))
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, list(users))
}

func (a *API) createUser(ctx *fasthttp.RequestCtx) {
	var in createUserInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := validateUser(in.Username, in.Password); err != nil {
		a.fail(ctx, err)
		return
	}
	if in.Role == "" {
		in.Role = models.RoleAdmin
	}
	if in.Role != models.RoleAdmin {
		a.fail(ctx, invalid("role", "must be %q (the only role so far), got %q", models.RoleAdmin, in.Role))
		return
	}
	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	user := &models.AdminUser{Username: in.Username, PasswordHash: hash, Role: in.Role}
	if err := a.db.CreateAdminUser(detach(ctx), user); err != nil {
		a.fail(ctx, err)
		return
	}
	a.logger.Info("admin user created", "username", user.Username, "by", sessionOf(ctx).User.Username)
	a.reply(ctx, fasthttp.StatusCreated, user)
}

// userParam loads the user named by the {id} path parameter.
func (a *API) userParam(ctx *fasthttp.RequestCtx) (*models.AdminUser, error) {
	id, err := idParam(ctx, "id")
	if err != nil {
		return nil, err
	}
	return a.db.AdminUser(detach(ctx), id)
}

func (a *API) getUser(ctx *fasthttp.RequestCtx) {
	user, err := a.userParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.reply(ctx, fasthttp.StatusOK, user)
}

// patchUser disables or enables a user. Disabling ends every session of
// the user; the last active admin cannot be disabled.
func (a *API) patchUser(ctx *fasthttp.RequestCtx) {
	id, err := idParam(ctx, "id")
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in patchUserInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if in.Disabled == nil {
		a.fail(ctx, invalid("disabled", "is required (true or false)"))
		return
	}
	user, err := a.db.SetAdminUserDisabled(detach(ctx), id, *in.Disabled)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	a.logger.Info("admin user changed", "username", user.Username, "disabled", user.Disabled, "by", sessionOf(ctx).User.Username)
	a.reply(ctx, fasthttp.StatusOK, user)
}

// deleteUser deletes a user and its sessions; never the last active
// admin.
func (a *API) deleteUser(ctx *fasthttp.RequestCtx) {
	id, err := idParam(ctx, "id")
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.db.DeleteAdminUser(detach(ctx), id); err != nil {
		a.fail(ctx, err)
		return
	}
	a.logger.Info("admin user deleted", "user", id, "by", sessionOf(ctx).User.Username)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// setPassword changes a user's password and ends the user's other
// sessions. One's own password needs the current one; a wrong current
// password counts as a failed login.
func (a *API) setPassword(ctx *fasthttp.RequestCtx) {
	user, err := a.userParam(ctx)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	var in passwordInput
	if err := decode(ctx, &in); err != nil {
		a.fail(ctx, err)
		return
	}
	if err := validatePassword("password", in.Password); err != nil {
		a.fail(ctx, err)
		return
	}
	s := sessionOf(ctx)
	keep := int64(0)
	if user.ID == s.UserID {
		keep = s.ID
		if !a.checkCurrentPassword(ctx, user, in.CurrentPassword) {
			return
		}
	}
	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		a.fail(ctx, err)
		return
	}
	if err := a.db.SetAdminUserPassword(detach(ctx), user.ID, hash, keep); err != nil {
		a.fail(ctx, err)
		return
	}
	a.logger.Info("password changed", "username", user.Username, "by", s.User.Username)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// checkCurrentPassword verifies the current password of the caller's own
// account under the login rate limits; on failure it has answered ctx.
func (a *API) checkCurrentPassword(ctx *fasthttp.RequestCtx, user *models.AdminUser, current string) bool {
	if current == "" {
		a.fail(ctx, invalid("current_password", "is required to change your own password"))
		return false
	}
	now, ip := a.now(), a.clientIP(ctx)
	if wait, err := a.logins.wait(detach(ctx), user.Username, ip, now); err != nil || wait > 0 {
		a.throttled(ctx, wait, err)
		return false
	}
	if len(current) > maxPasswordBytes {
		current = current[:maxPasswordBytes]
	}
	ok, err := a.hasher.verify(ctx, user.PasswordHash, current)
	if err != nil {
		a.fail(ctx, err)
		return false
	}
	if !ok {
		if err := a.logins.failed(detach(ctx), user.Username, ip, now); err != nil {
			a.fail(ctx, err)
			return false
		}
		a.fail(ctx, &forbidden{code: "wrong_password", msg: "current_password is wrong"})
		return false
	}
	return true
}
