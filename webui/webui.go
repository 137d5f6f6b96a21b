// Package webui owns the dashboard served under /admin/: its SvelteKit
// source lives beside this file (src/, built with `make ui`) and its built
// assets are embedded from dist/, which is committed, so the binary serves
// the UI without Node.js. The dashboard only talks to the admin API; this
// package serves files and nothing else.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/html"
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
	csp := pagePolicy(dist)
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
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
		}
		ctx.SetBody(body)
	}
}

// pagePolicy is the Content-Security-Policy of the dashboard's pages. Code
// runs only from the dashboard's own files and from the inline bootstrap
// scripts SvelteKit writes into the pages, each allowed by its hash (never
// 'unsafe-inline' or 'unsafe-eval' for scripts); nothing may frame the
// dashboard, and it frames, embeds and posts to nothing else. Inline
// styles stay allowed: CodeMirror injects <style> elements and the page
// shell has a style attribute; CSS runs no code.
func pagePolicy(dist fs.FS) string {
	var hashes []string
	_ = fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".html" {
			return err
		}
		page, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		for _, h := range inlineScriptHashes(page) {
			if !slices.Contains(hashes, h) {
				hashes = append(hashes, h)
			}
		}
		return nil
	})
	return strings.Join([]string{
		"default-src 'self'",
		strings.Join(append([]string{"script-src 'self'"}, hashes...), " "),
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"object-src 'none'",
		"frame-src 'none'",
		"worker-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// inlineScriptHashes returns the CSP hash source ('sha256-...') of every
// inline <script> of an HTML page, over its text exactly as written.
func inlineScriptHashes(page []byte) []string {
	var hashes []string
	z := html.NewTokenizer(bytes.NewReader(page))
	inScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return hashes
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			inScript = string(name) == "script" && !hasSrc(z, hasAttr)
		case html.TextToken:
			if inScript {
				sum := sha256.Sum256(z.Raw())
				hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			}
		case html.EndTagToken:
			inScript = false
		}
	}
}

// hasSrc reports whether the start tag z is at has a src attribute.
func hasSrc(z *html.Tokenizer, more bool) bool {
	for more {
		var key []byte
		key, _, more = z.TagAttr()
		if string(key) == "src" {
			return true
		}
	}
	return false
}
