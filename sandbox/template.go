package sandbox

// HelloWorld is the script a fresh install serves on GET / of its Hello
// World app, and the template a new script starts from.
const HelloWorld = `package main

import "picloud"

// Handle answers GET / with a greeting: try /?name=you
func Handle(req *picloud.Request) *picloud.Response {
	name := req.QueryParam("name")
	if name == "" {
		name = "world"
	}
	return picloud.JSON(200, map[string]any{"hello": name})
}
`
