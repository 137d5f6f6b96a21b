// Package sdk is the picloud SDK as scripts see it: `import "picloud"`.
//
// Its types are plain data. The sandbox copies a request into a fresh
// Request for every call and copies the Response out again (a worker
// encodes it before the next call instead), so nothing a script does to
// these values reaches the host or another invocation.
//
// picloud.Log is not declared here: the sandbox binds it to each
// instance's output when it builds the script's symbol table. SDK v2's
// picloud.KV, Secret, Fetch and Invoke reach a Host (host.go), which the
// sandbox binds to the call running.
package sdk

import (
	"fmt"
	"net/textproto"
	"net/url"
)

// Version is the SDK version reported by /version.
const Version = "v2"

// Request is the HTTP request a script handles.
type Request struct {
	Method string
	Path   string
	Host   string
	// Params holds the route parameters (`/users/:id` -> Params["id"]).
	Params map[string]string
	// DomainParams holds the parameters captured by the app's domain claim.
	DomainParams map[string]string
	Query        url.Values
	// Headers uses canonical header names (textproto.CanonicalMIMEHeaderKey).
	Headers   map[string]string
	Body      []byte
	RequestID string
	// App is the slug of the app the request was routed to.
	App string
	// Trigger says what started the call: "http" (TriggerHTTP) for an
	// HTTP request, "schedule" for a schedule's firing, "invoke" for
	// picloud.Invoke from another script.
	Trigger string

	// headerValues holds the values of headers sent more than once
	// (HeaderValues), by canonical name.
	headerValues map[string][]string
}

// QueryParam returns the first value of the query parameter name, or "".
func (r *Request) QueryParam(name string) string {
	if r == nil || r.Query == nil {
		return ""
	}
	return r.Query.Get(name)
}

// Header returns the value of the header name (case-insensitive), or "".
func (r *Request) Header(name string) string {
	if r == nil || r.Headers == nil {
		return ""
	}
	return r.Headers[textproto.CanonicalMIMEHeaderKey(name)]
}

// Param returns the route parameter name, or "".
func (r *Request) Param(name string) string {
	if r == nil {
		return ""
	}
	return r.Params[name]
}

// Response is what a script returns. A nil *Response is an empty 204.
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
	// Added holds the headers of AddHeader and SetCookie, sent after
	// Headers in the order they were added.
	Added []Header
}

// JSON encodes v as the JSON body of a response with the given status.
// A value that cannot be encoded gives a 500 naming the encoding error.
func JSON(status int, v any) *Response {
	b, err := marshalJSON(v)
	if err != nil {
		return Text(500, fmt.Sprintf("picloud.JSON: %v", err))
	}
	return &Response{
		Status:  status,
		Headers: map[string]string{"Content-Type": "application/json"},
		Body:    b,
	}
}

// Text returns a plain-text response.
func Text(status int, s string) *Response {
	return &Response{
		Status:  status,
		Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:    []byte(s),
	}
}

// HTML returns an HTML response.
func HTML(status int, s string) *Response {
	return &Response{
		Status:  status,
		Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"},
		Body:    []byte(s),
	}
}

// Redirect returns a redirect to location with the given status
// (301, 302, 303, 307 or 308; anything else becomes 302).
func Redirect(status int, location string) *Response {
	switch status {
	case 301, 302, 303, 307, 308:
	default:
		status = 302
	}
	return &Response{Status: status, Headers: map[string]string{"Location": location}}
}
