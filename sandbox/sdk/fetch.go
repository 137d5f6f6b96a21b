package sdk

import (
	"net/textproto"
	"time"
)

// FetchRequest is an outbound HTTP request of picloud.Fetch.
type FetchRequest struct {
	// Method is GET when empty.
	Method string
	// URL is an absolute http:// or https:// URL.
	URL     string
	Headers map[string]string
	Body    []byte
	// Timeout bounds this fetch (server.fetch_timeout when 0 or more);
	// the script's own time budget may end it sooner.
	Timeout time.Duration
}

// FetchResponse is the answer to a FetchRequest.
type FetchResponse struct {
	Status int
	// Headers uses canonical header names; repeated headers are joined
	// with ", ".
	Headers map[string]string
	Body    []byte
}

// Header returns the value of the response header name
// (case-insensitive), or "".
func (r *FetchResponse) Header(name string) string {
	if r == nil || r.Headers == nil {
		return ""
	}
	return r.Headers[textproto.CanonicalMIMEHeaderKey(name)]
}
