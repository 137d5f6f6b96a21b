package webui

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestPagePolicy: every page carries a policy that allows the page's own
// inline scripts by hash and no other inline or evaluated code, and that
// nothing may frame.
func TestPagePolicy(t *testing.T) {
	index, err := fs.ReadFile(assets, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	res := serve(t, "GET", "/admin/apps")
	csp := string(res.Header.Peek("Content-Security-Policy"))
	directives := map[string]string{}
	for d := range strings.SplitSeq(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'self'",
		"object-src":      "'none'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
	} {
		if directives[name] != want {
			t.Errorf("%s = %q, want %q (policy %q)", name, directives[name], want, csp)
		}
	}
	script := directives["script-src"]
	if strings.Contains(script, "unsafe") || strings.Contains(script, "*") || strings.Contains(script, "data:") {
		t.Errorf("script-src %q allows code that is not the dashboard's", script)
	}
	// Found independently of the tokenizer the handler uses.
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllSubmatch(index, -1)
	if len(inline) == 0 {
		t.Fatal("index.html has no inline script: the test would prove nothing")
	}
	for _, m := range inline {
		sum := sha256.Sum256(m[1])
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(script, h) {
			t.Errorf("script-src %q lacks %s, the hash of an inline script of index.html", script, h)
		}
	}
	if asset := serve(t, "GET", "/admin/"+anImmutableFile(t)); len(asset.Header.Peek("Content-Security-Policy")) != 0 {
		t.Errorf("a script file carries the page policy")
	}
}

func TestInlineScriptHashes(t *testing.T) {
	page := []byte(`<html><head><script src="/a.js"></script><script type="module">x()</script></head>` +
		`<body><SCRIPT>y &amp; z</SCRIPT><p>not a script</p></body></html>`)
	got := inlineScriptHashes(page)
	want := []string{hashOf("x()"), hashOf("y &amp; z")}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("hashes = %q, want %q", got, want)
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
