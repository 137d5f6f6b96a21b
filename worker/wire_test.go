package worker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/picloud/picloud/sandbox"
	"github.com/picloud/picloud/sandbox/sdk"
)

// decodePayload reads back one frame AppendFrame wrote.
func decodePayload(t testing.TB, enc []byte) *Frame {
	t.Helper()
	payload, err := ReadFrame(bufio.NewReader(bytes.NewReader(enc)), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFrame(payload)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestControlFramesRoundTrip(t *testing.T) {
	frames := []struct {
		name  string
		frame *Frame
	}{
		{"load", &Frame{Id: 1, Body: &Frame_Load{Load: &Load{Instance: 7, Source: "package main", MaxOutput: 4096, MaxResponseBody: 1 << 20, App: "shop", ScriptId: 3, Version: 2}}}},
		{"unload", &Frame{Body: &Frame_Unload{Unload: &Unload{Instance: 9}}}},
		{"loaded", &Frame{Id: 3, Body: &Frame_Loaded{Loaded: &Loaded{Goroutine: 42}}}},
		{"load failed", &Frame{Id: 3, Body: &Frame_Loaded{Loaded: &Loaded{Error: wireError(&sandbox.CompileError{Line: 6, Column: 27, Message: "undefined: x"})}}}},
	}
	for _, tc := range frames {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodePayload(t, AppendFrame(nil, tc.frame)); !proto.Equal(got, tc.frame) {
				t.Errorf("round trip:\n got %v\nwant %v", got, tc.frame)
			}
		})
	}
}

// TestCallRoundTrip sends requests as the host does and reads them as
// the child does, including strings that are not UTF-8 (a path with
// %FF, a header's raw bytes), which proto.Marshal would refuse.
func TestCallRoundTrip(t *testing.T) {
	requests := []struct {
		name string
		req  *sdk.Request
	}{
		{"full", &sdk.Request{
			Method: "POST", Path: "/users/42", Host: "shop.example.com",
			Params: map[string]string{"id": "42"}, DomainParams: map[string]string{"tenant": "acme"},
			Query:   url.Values{"a": {"1", "2"}, "empty": {""}},
			Headers: map[string]string{"Content-Type": "text/plain", "X-Empty": ""},
			Body:    []byte("h\x00llo"), RequestID: "r-1", App: "shop",
		}},
		{"empty", &sdk.Request{}},
		{"query again", &sdk.Request{Query: url.Values{"b": {"1"}, "a": {"3"}}}},
		{"not UTF-8", &sdk.Request{Method: "GET", Path: "/files/\xff\xfe", Headers: map[string]string{"X-Raw": "caf\xe9"},
			Query: url.Values{"q": {"\xc3\x28"}}, Params: map[string]string{"rest": "\xff"}}},
	}
	// Both ends reuse their messages from call to call, as they do in a
	// worker: nothing of one request may stay in the next.
	var call callFrame
	var got sdk.Request
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			f := decodePayload(t, AppendFrame(nil, call.set(7, tc.req)))
			if f.GetCall().GetInstance() != 7 {
				t.Fatalf("frame = %v, want a call of instance 7", f)
			}
			f.GetCall().GetRequest().fill(&got)
			if !reflect.DeepEqual(&got, tc.req) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, *tc.req)
			}
		})
	}
}

// TestResultRoundTrip answers calls as the child does and reads the
// answers as the host does: the sandbox's errors come out as the same
// types.
func TestResultRoundTrip(t *testing.T) {
	tooLarge := sandbox.Result{Err: errors.Join(sandbox.ErrResponseTooLarge, errors.New("7340032 bytes, limit 6291456"))}
	results := []struct {
		name  string
		out   sandbox.Result
		check func(t *testing.T, got sandbox.Result)
	}{
		{"response", sandbox.Result{
			Response: sdk.Response{Status: 201, Headers: map[string]string{"Location": "/x", "X-Raw": "\xff"}, Body: []byte(`{"ok":true}`)},
			Output:   "log line \xff\n", Duration: 1500 * time.Microsecond,
		}, nil},
		{"panic", sandbox.Result{Panic: &sandbox.PanicError{Value: "boom", Line: 4, Column: 9, Func: "main.Handle"}, Output: "before"}, nil},
		{"response too large", tooLarge, func(t *testing.T, got sandbox.Result) {
			if !errors.Is(got.Err, sandbox.ErrResponseTooLarge) || got.Err.Error() != tooLarge.Err.Error() {
				t.Errorf("Err = %v, want %v", got.Err, tooLarge.Err)
			}
		}},
		{"internal", sandbox.Result{Err: errors.New("worker: no instance 3")}, nil},
	}
	var answer resultFrame
	for _, tc := range results {
		t.Run(tc.name, func(t *testing.T) {
			f := decodePayload(t, AppendFrame(nil, answer.set(5, tc.out)))
			if f.Id != 5 || f.GetResult() == nil {
				t.Fatalf("frame = %v, want a result of call 5", f)
			}
			got := f.GetResult().sandboxResult()
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			if !reflect.DeepEqual(got, tc.out) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.out)
			}
		})
	}
}

func TestMalformedFrames(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "no body"},
		{"only an id", []byte{0x08, 0x01}, "no body"},
		{"truncated tag", []byte{0x80}, "unexpected EOF"},
		{"truncated body", []byte{0x2a, 0x05, 0x0a}, "unexpected EOF"},
		{"body as varint", []byte{0x28, 0x01}, "wrong wireType = 0 for field Loaded"},
		{"id as bytes", []byte{0x0a, 0x00, 0x2a, 0x00}, "wrong wireType = 2 for field Id"},
		{"bad nested field", []byte{0x1a, 0x02, 0x08, 0x80}, "unexpected EOF"},
		{"negative length", []byte{0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "negative length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame(tc.payload)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "worker: malformed frame: ") {
				t.Errorf("DecodeFrame(% x) = %v, want an error with %q", tc.payload, err, tc.want)
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, MaxFrame+1)
	cases := []struct {
		name  string
		input []byte
		want  string
	}{
		{"oversized", huge, "exceeds the limit"},
		{"cut short", []byte{0, 0, 0, 9, 1, 2}, "unexpected EOF"},
		{"half a length", []byte{0, 0}, "unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadFrame(bufio.NewReader(bytes.NewReader(tc.input)), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadFrame = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeFrame checks that no payload makes the decoder panic, that
// what it accepts does not alias the payload (which the reader reuses),
// and that it encodes back to a frame that decodes the same.
func FuzzDecodeFrame(f *testing.F) {
	var call callFrame
	var answer resultFrame
	f.Add(AppendFrame(nil, call.set(2, &sdk.Request{Method: "GET", Query: url.Values{"a": {"b"}}, Headers: map[string]string{"A": "b"}}))[4:])
	f.Add(AppendFrame(nil, answer.set(1, sandbox.Result{Panic: &sandbox.PanicError{Value: "x"}}))[4:])
	f.Add(AppendFrame(nil, &Frame{Id: 1, Body: &Frame_Load{Load: &Load{Instance: 1, Source: "package main"}}})[4:])
	f.Add([]byte{0x2a, 0x00})
	f.Fuzz(func(t *testing.T, payload []byte) {
		fr, err := DecodeFrame(payload)
		if err != nil {
			return
		}
		kept := proto.Clone(fr)
		for i := range payload {
			payload[i] ^= 0xff
		}
		if !proto.Equal(fr, kept) {
			t.Fatalf("the decoded frame changed with its payload")
		}
		again, err := DecodeFrame(AppendFrame(nil, fr)[4:])
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if !proto.Equal(again, fr) {
			t.Fatalf("round trip changed the frame:\n got %v\nwant %v", again, fr)
		}
	})
}
