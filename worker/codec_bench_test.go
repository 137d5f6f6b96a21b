package worker

import (
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// codecRequest is a typical request (see benchRequest in bench_test.go).
func codecRequest() *sdk.Request {
	return &sdk.Request{
		Method: "POST", Path: "/hello/world", Host: "demo.example.com",
		Params: map[string]string{"name": "world"},
		Query:  map[string][]string{"page": {"2"}},
		Headers: map[string]string{
			"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Accept-Encoding": "gzip, deflate, br",
			"Accept-Language": "en-GB,en;q=0.5",
			"Content-Type":    "application/json",
			"Content-Length":  "64",
			"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"X-Request-Id":    "01J9Z7R7E3W0P5QK3V2M1N8B4C",
		},
		Body:      []byte(`{"greeting":"hello","name":"world","count":42,"tags":["a","b"]}`),
		RequestID: "01J9Z7R7E3W0P5QK3V2M1N8B4C",
		App:       "demo",
	}
}

func codecResponse() sdk.Response {
	return sdk.Response{Status: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Answer": "42"}, Body: []byte("hello world")}
}

// BenchmarkCodec measures each side of a call's trip as host and child
// do it: the host encodes a call from an sdk.Request, the child decodes
// it back into one; the child encodes the script's response, the host
// decodes it.
func BenchmarkCodec(b *testing.B) {
	req := codecRequest()
	out := sandbox.Result{Response: codecResponse(), Output: "hi world\n", Duration: 80 * time.Microsecond}
	var call callFrame
	var answer resultFrame
	callPayload := AppendFrame(nil, call.set(3, req))[4:]
	resultPayload := AppendFrame(nil, answer.set(7, out))[4:]
	var buf []byte
	b.Run("call-encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f := call.set(3, req)
			f.Id = 7
			buf = AppendFrame(buf[:0], f)
		}
	})
	b.Run("call-decode", func(b *testing.B) {
		var got sdk.Request
		b.ReportAllocs()
		for b.Loop() {
			f, err := DecodeFrame(callPayload)
			if err != nil {
				b.Fatal(err)
			}
			f.GetCall().GetRequest().fill(&got)
			if got.Method != "POST" {
				b.Fatal(got)
			}
		}
	})
	b.Run("result-encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendFrame(buf[:0], answer.set(7, out))
		}
	})
	b.Run("result-decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f, err := DecodeFrame(resultPayload)
			if err != nil {
				b.Fatal(err)
			}
			if res := f.GetResult().sandboxResult(); res.Response.Status != 200 {
				b.Fatal(res)
			}
		}
	})
}
