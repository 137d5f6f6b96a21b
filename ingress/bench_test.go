package ingress_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/valyala/fasthttp"

	"github.com/picloud/picloud/actors"
	"github.com/picloud/picloud/ingress"
)

// echoRouter answers every Invoke at once, as the hello script does:
// what is left is ingress's own cost per request.
type echoRouter struct{}

func (echoRouter) Send(_ *actor.PID, msg any) {
	msg.(*actors.Invoke).Reply.Send(actors.Result{Status: 200,
		Headers: []actors.Header{{Name: "Content-Type", Value: "application/json"}},
		Body:    []byte(`{"hello":"world"}`)})
}

type discardRecorder struct{}

func (discardRecorder) Add(ingress.Invocation) {}

// BenchmarkHandlerHello is one request through Handler (Host -> app,
// request copy, reply, response headers, record) with a router that
// answers at once: ingress's share of the hello route.
func BenchmarkHandlerHello(b *testing.B) {
	s := ingress.New(ingress.Options{Timeout: time.Second}, echoRouter{}, discardRecorder{},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	tbl, err := ingress.Build(ingress.TableSpec{
		Apps:       []ingress.App{{ID: 1, Slug: "hello", Router: actor.NewPID("nonhost", "1")}},
		BaseDomain: "localhost", DefaultApp: "hello",
	})
	if err != nil {
		b.Fatal(err)
	}
	s.SetTable(tbl)
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/")
	ctx.Request.Header.SetHost("127.0.0.1:8080")
	ctx.Request.Header.Set("User-Agent", "loadgen")
	ctx.Request.Header.Set("Accept", "*/*")
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		s.Handler(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
