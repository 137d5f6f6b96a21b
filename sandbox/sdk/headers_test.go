package sdk_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
)

func TestHeaderValuesAndCookies(t *testing.T) {
	req := &sdk.Request{Headers: map[string]string{
		"Accept": "a, b",
		"Cookie": `sid=1; theme="dark", lang=en`,
		"X-One":  "only",
	}}
	sdk.SetHeaderValues(req, map[string][]string{
		"Accept": {"a", "b"},
		"Cookie": {`sid=1; theme="dark"`, "lang=en; sid=2"},
	})
	if got := req.HeaderValues("accept"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("HeaderValues(accept) = %q", got)
	}
	if got := req.HeaderValues("x-one"); !slices.Equal(got, []string{"only"}) {
		t.Errorf("HeaderValues(x-one) = %q", got)
	}
	if got := req.HeaderValues("x-none"); got != nil {
		t.Errorf("HeaderValues(x-none) = %q, want nil", got)
	}
	req.HeaderValues("accept")[0] = "changed"
	if req.HeaderValues("accept")[0] != "a" {
		t.Error("HeaderValues hands out the request's own slice")
	}
	cookies := []struct {
		name, want string
		ok         bool
	}{
		{"sid", "1", true}, // the first of two wins
		{"theme", "dark", true},
		{"lang", "en", true},
		{"Sid", "", false}, // names are case-sensitive
		{"none", "", false},
	}
	for _, c := range cookies {
		if v, ok := req.Cookie(c.name); v != c.want || ok != c.ok {
			t.Errorf("Cookie(%q) = %q, %v; want %q, %v", c.name, v, ok, c.want, c.ok)
		}
	}
	var nilReq *sdk.Request
	if nilReq.HeaderValues("a") != nil {
		t.Error("HeaderValues on a nil request")
	}
	if _, ok := nilReq.Cookie("a"); ok {
		t.Error("Cookie on a nil request")
	}
}

func TestAddHeaderAndSetCookie(t *testing.T) {
	resp := sdk.Text(200, "hi")
	resp.AddHeader("link", "</a>; rel=preload")
	resp.AddHeader("Link", "</b>; rel=preload")
	if err := resp.SetCookie(&sdk.Cookie{Name: "a", Value: "1", Path: "/", HttpOnly: true, SameSite: "lax"}); err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := resp.SetCookie(&sdk.Cookie{Name: "b", Value: "2", Domain: "example.com", MaxAge: 60, Expires: exp, Secure: true, SameSite: "None"}); err != nil {
		t.Fatal(err)
	}
	want := []sdk.Header{
		{Name: "Link", Value: "</a>; rel=preload"},
		{Name: "Link", Value: "</b>; rel=preload"},
		{Name: "Set-Cookie", Value: "a=1; Path=/; HttpOnly; SameSite=Lax"},
		{Name: "Set-Cookie", Value: "b=2; Domain=example.com; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Max-Age=60; Secure; SameSite=None"},
	}
	if !slices.Equal(resp.Added, want) {
		t.Errorf("Added = %q\nwant    %q", resp.Added, want)
	}
	bad := []struct {
		cookie *sdk.Cookie
		want   string
	}{
		{&sdk.Cookie{Name: "bad name", Value: "x"}, "invalid cookie name"},
		{&sdk.Cookie{Name: "", Value: "x"}, "invalid cookie name"},
		{&sdk.Cookie{Name: "s", SameSite: "sometimes"}, "SameSite"},
		{nil, "nil cookie"},
	}
	for _, b := range bad {
		before := len(resp.Added)
		err := resp.SetCookie(b.cookie)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("SetCookie(%+v) = %v, want an error with %q", b.cookie, err, b.want)
		}
		if len(resp.Added) != before {
			t.Errorf("SetCookie(%+v) added a header despite its error", b.cookie)
		}
	}
}
