package models_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/models"
)

const helloSource = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello")
}
`

func newApp(t *testing.T, db *models.DB, slug string) *models.App {
	t.Helper()
	app := &models.App{Slug: slug, Name: "App " + slug}
	if err := db.CreateApp(context.Background(), app); err != nil {
		t.Fatalf("create app %q: %v", slug, err)
	}
	return app
}

func newScript(t *testing.T, db *models.DB, appID int64, name string) *models.Script {
	t.Helper()
	s, _, err := db.CreateScript(context.Background(), appID, name, helloSource)
	if err != nil {
		t.Fatalf("create script %q: %v", name, err)
	}
	return s
}

func newRoute(t *testing.T, db *models.DB, s *models.Script, method, path string) *models.Route {
	t.Helper()
	r := &models.Route{AppID: s.AppID, ScriptID: s.ID, Method: method, Path: path}
	if err := db.CreateRoute(context.Background(), r); err != nil {
		t.Fatalf("create route %s %s: %v", method, path, err)
	}
	return r
}
