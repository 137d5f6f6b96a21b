package sdk_test

import (
	"net/url"
	"testing"

	"github.com/picloud/picloud/sandbox/sdk"
)

func TestRequestAccessors(t *testing.T) {
	req := &sdk.Request{
		Params:  map[string]string{"id": "7"},
		Query:   url.Values{"name": {"ann", "bob"}},
		Headers: map[string]string{"Content-Type": "text/plain", "X-Api-Key": "k"},
	}
	tests := []struct {
		name, got, want string
	}{
		{"first query value", req.QueryParam("name"), "ann"},
		{"missing query", req.QueryParam("nope"), ""},
		{"header case-insensitive", req.Header("content-type"), "text/plain"},
		{"header canonicalized", req.Header("x-api-key"), "k"},
		{"missing header", req.Header("accept"), ""},
		{"param", req.Param("id"), "7"},
		{"missing param", req.Param("x"), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	var empty *sdk.Request
	if empty.QueryParam("a") != "" || empty.Header("a") != "" || empty.Param("a") != "" {
		t.Error("accessors on a nil request must return empty strings")
	}
	if (&sdk.Request{}).QueryParam("a") != "" || (&sdk.Request{}).Header("a") != "" {
		t.Error("accessors on an empty request must return empty strings")
	}
}

func TestResponseHelpers(t *testing.T) {
	tests := []struct {
		name        string
		res         *sdk.Response
		status      int
		contentType string
		body        string
		location    string
	}{
		{"json", sdk.JSON(201, map[string]int{"a": 1}), 201, "application/json", `{"a":1}`, ""},
		{"json unencodable", sdk.JSON(200, func() {}), 500, "text/plain; charset=utf-8", "picloud.JSON: json: unsupported type: func()", ""},
		{"text", sdk.Text(404, "nope"), 404, "text/plain; charset=utf-8", "nope", ""},
		{"html", sdk.HTML(200, "<b>hi</b>"), 200, "text/html; charset=utf-8", "<b>hi</b>", ""},
		{"redirect 308", sdk.Redirect(308, "/new"), 308, "", "", "/new"},
		{"redirect 301", sdk.Redirect(301, "/a"), 301, "", "", "/a"},
		{"redirect bad status", sdk.Redirect(200, "/x"), 302, "", "", "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.res.Status != tt.status {
				t.Errorf("status %d, want %d", tt.res.Status, tt.status)
			}
			if got := tt.res.Headers["Content-Type"]; got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if string(tt.res.Body) != tt.body {
				t.Errorf("body %q, want %q", tt.res.Body, tt.body)
			}
			if got := tt.res.Headers["Location"]; got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
}
