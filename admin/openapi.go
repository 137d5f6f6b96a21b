package admin

import (
	_ "embed" // the API description is part of the binary

	"github.com/valyala/fasthttp"
)

// openAPIDoc is the OpenAPI 3.1 description of the admin API. A test
// holds it to the routes the API serves, both ways, and validates it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI serves the admin API's OpenAPI document (ingress mounts it at
// /api/v1/openapi.json on the admin host, beside the API it describes;
// open to all: it describes, it grants nothing).
func OpenAPI(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.SetBody(openAPIDoc)
}
