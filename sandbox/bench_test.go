package sandbox

import (
	"context"
	"net/url"
	"testing"

	"github.com/picloud/picloud/sandbox/sdk"
)

// BenchmarkCall is the per-request cost of the hello script, including
// copying the request in and the response out, under a context that can
// end, as executors and workers call it.
// "lend" is a worker's call (Options.LendResponse).
func BenchmarkCall(b *testing.B) {
	for _, lend := range []bool{false, true} {
		name := map[bool]string{false: "copy", true: "lend"}[lend]
		b.Run(name, func(b *testing.B) {
			in := newInstance(b, helloScript, Options{LendResponse: lend})
			req := &sdk.Request{Method: "GET", Path: "/", Query: url.Values{"name": {"bench"}}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			for b.Loop() {
				if res := in.Call(ctx, req); res.Response.Status != 200 {
					b.Fatalf("status %d: %v", res.Response.Status, res.Panic)
				}
			}
		})
	}
}

// BenchmarkNew is the cost of compiling the hello script into a ready
// instance.
func BenchmarkNew(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := New(ctx, helloScript, Options{})
		if err != nil {
			b.Fatal(err)
		}
		in.Close()
	}
}

// BenchmarkNewFmt shows that importing fmt does not pull in yaegi's
// generic sources (see fmtExportKey).
func BenchmarkNewFmt(b *testing.B) {
	src := handler(`"fmt"
	"strings"
	"time"`, `
	fmt.Println(strings.ToUpper("x"), time.Now())
	return nil`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := New(ctx, src, Options{})
		if err != nil {
			b.Fatal(err)
		}
		in.Close()
	}
}

func BenchmarkCheck(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(context.Background(), helloScript); err != nil {
			b.Fatal(err)
		}
	}
}
