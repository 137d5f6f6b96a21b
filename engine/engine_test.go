package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/picloud/picloud/engine"
	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

func TestInProcess(t *testing.T) {
	const hello = `package main

import "picloud"

func Handle(req *picloud.Request) *picloud.Response {
	return picloud.Text(200, "hello "+req.Param("name"))
}
`
	const initPanics = `package main

import "picloud"

var x = boom()

func boom() int { panic("at init") }

func Handle(req *picloud.Request) *picloud.Response { return nil }
`
	cases := []struct {
		name    string
		source  string
		wantErr func(error) bool
	}{
		{"loads and runs", hello, nil},
		{"compile error", `package main`, func(err error) bool {
			var ce *sandbox.CompileError
			return errors.As(err, &ce)
		}},
		{"panic while initialising", initPanics, func(err error) bool {
			var pe *sandbox.PanicError
			return errors.As(err, &pe)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e engine.Engine = engine.InProcess{}
			inst, err := e.Load(context.Background(), engine.AppRef{ID: 1, Slug: "app"}, engine.Script{ScriptID: 1, Version: 1, Source: tc.source}, sandbox.Options{})
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) {
					t.Fatalf("Load = %v, want a matching error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			res := inst.Call(context.Background(), &sdk.Request{Method: "GET", Path: "/", Params: map[string]string{"name": "ann"}})
			if res.Err != nil || res.Panic != nil || string(res.Response.Body) != "hello ann" {
				t.Fatalf("Call = %+v, want 200 hello ann", res)
			}
		})
	}
}
