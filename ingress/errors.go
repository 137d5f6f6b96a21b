package ingress

import (
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
)

// errorDetailsKey marks a request whose caller may see the details of a
// failed call: one authenticated through Execute (an admin).
type errorDetailsKey struct{}

// publicMessages are what a public caller reads about a failed call, by
// error code. What went wrong inside (the panic value and line, the
// worker's crash report, script ids and versions, the parking reason) is
// the app's business: it goes to the invocation log. A code not listed
// here says nothing internal and keeps its message.
var publicMessages = map[string]string{
	actors.CodePanic:        "the script failed",
	actors.CodeTimeout:      "the script ran past its time budget",
	actors.CodeParked:       "the script failed too often and is resting; try again later",
	actors.CodeTooLarge:     "the script's response is over its size limit",
	actors.CodeLoadFailed:   "the script could not be loaded",
	actors.CodeCrashed:      "the script's worker stopped",
	actors.CodeExecutorLost: "the node running this script's executor went away",
	actors.CodeInternal:     "internal error",
	actors.CodeSaturated:    "the script is busy; try again later",
	actors.CodeUnavailable:  "the app is not available; try again later",
	actors.CodeNoExecutor:   "no executor is available; try again later",
	codeInvalidStatus:       "the script answered an invalid status",
}

// errorMessage is the message of res's error answer: its details for an
// admin call or when the app's public_errors (else Options.PublicErrors)
// is set, else the public text of its code followed by where the details
// are.
func (s *Server) errorMessage(ctx *fasthttp.RequestCtx, app *App, res *actors.Result) string {
	public := s.opts.PublicErrors
	if app != nil && app.PublicErrors != nil {
		public = *app.PublicErrors
	}
	if public || ctx.UserValue(errorDetailsKey{}) != nil {
		return res.ErrMessage
	}
	msg, hide := publicMessages[res.ErrCode]
	if !hide {
		return res.ErrMessage
	}
	return msg + " (the invocation log has the details of this request id)"
}
