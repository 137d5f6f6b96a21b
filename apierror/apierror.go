// Package apierror owns the JSON error shape of every PiCloud HTTP
// response, data plane and admin API alike:
//
//	{"error":{"code":"...","message":"...","request_id":"..."}}
//
// Compile errors add "line" and "column"; validation errors add "field".
package apierror

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// RequestIDKey is the fasthttp user-value key under which ingress stores
// the request id, so every handler answers with the same id.
const RequestIDKey = "picloud.request_id"

// Error is the body of an error response.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Field     string `json:"field,omitempty"`
	Line      int    `json:"line,omitempty"`
	Column    int    `json:"column,omitempty"`
}

type envelope struct {
	Error Error `json:"error"`
}

// RequestID returns the request id ingress gave ctx, or "".
func RequestID(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue(RequestIDKey).(string)
	return id
}

// Write answers ctx with status and the error e; e.RequestID is filled in
// from ctx when empty.
func Write(ctx *fasthttp.RequestCtx, status int, e Error) {
	if e.RequestID == "" {
		e.RequestID = RequestID(ctx)
	}
	body, err := json.Marshal(envelope{Error: e})
	if err != nil {
		// Error holds only strings and ints: Marshal cannot fail.
		body = []byte(`{"error":{"code":"internal","message":"error encoding failed"}}`)
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(body)
}

// Writef is Write with just a code and a message.
func Writef(ctx *fasthttp.RequestCtx, status int, code, message string) {
	Write(ctx, status, Error{Code: code, Message: message})
}
