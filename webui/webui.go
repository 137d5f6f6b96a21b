// Package webui owns the dashboard served under /admin/: its SvelteKit
// source lives beside this file (src/, built with `make ui`) and its built
// assets are embedded from dist/, which is committed, so the binary serves
// the UI without Node.js. The dashboard only talks to the admin API; this
// package serves files and nothing else.
package webui

import (
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// all: because the built code lives in _app/, which a plain pattern skips.
//
//go:embed all:dist
var assets embed.FS

// Prefix is where the UI is mounted.
const Prefix = "/admin"

// immutableDir holds the built files whose names carry a hash of their
// content: cacheable for good.
const immutableDir = "_app/immutable/"

// Handler serves the embedded assets. Page paths (anything that is not a
// built file) get index.html so the single-page app can route them; a
// missing file under _app/ is a 404, never a page.
func Handler() fasthttp.RequestHandler {
	dist, err := fs.Sub(assets, "dist")
	if err != nil {
		panic("webui: embedded dist missing: " + err.Error()) // a build error, not a runtime one
	}
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
			ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(string(ctx.Path()), Prefix)
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p == "" {
			p = "index.html"
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			if strings.HasPrefix(p, "_app/") {
				ctx.Error("no such dashboard file", fasthttp.StatusNotFound)
				return
			}
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
		h := &ctx.Response.Header
		h.SetContentType(ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(p, immutableDir) {
			h.Set(fasthttp.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			// index.html names the current hashed files: always revalidate.
			h.Set(fasthttp.HeaderCacheControl, "no-cache")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
		}
		ctx.SetBody(body)
	}
}
