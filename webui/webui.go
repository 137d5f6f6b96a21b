// Package webui owns the dashboard served under /admin/: its SvelteKit
// source lives beside this file and its built assets are embedded from
// dist/, so the binary serves the UI without Node.js.
package webui

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed dist
var assets embed.FS

// Prefix is where the UI is mounted.
const Prefix = "/admin"

// Handler serves the embedded assets; unknown paths get index.html so the
// single-page app can route them.
func Handler() fasthttp.RequestHandler {
	dist, err := fs.Sub(assets, "dist")
	if err != nil {
		panic("webui: embedded dist missing: " + err.Error()) // a build error, not a runtime one
	}
	return func(ctx *fasthttp.RequestCtx) {
		p := strings.TrimPrefix(string(ctx.Path()), Prefix)
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p == "" {
			p = "index.html"
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			p = "index.html"
			if body, err = fs.ReadFile(dist, p); err != nil {
				ctx.Error("dashboard assets missing", fasthttp.StatusInternalServerError)
				return
			}
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		ctx.SetContentType(ctype)
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
		ctx.SetBody(body)
	}
}
