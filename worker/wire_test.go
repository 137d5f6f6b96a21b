package worker_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/sandbox/sdk"
	"github.com/picloud/picloud/worker"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []struct {
		name  string
		frame worker.Frame
	}{
		{"load", worker.Frame{ID: 1, Load: &worker.Load{Instance: 7, Source: "package main", MaxOutput: 4096, MaxResponseBody: 1 << 20, App: "shop", ScriptID: 3, Version: 2}}},
		{"call", worker.Frame{ID: 1 << 40, Call: &worker.Call{Instance: 7, Request: &sdk.Request{
			Method: "POST", Path: "/users/42", Host: "shop.example.com",
			Params: map[string]string{"id": "42"}, DomainParams: map[string]string{"tenant": "acme"},
			Query:   url.Values{"a": {"1", "2"}, "empty": {""}},
			Headers: map[string]string{"Content-Type": "text/plain", "X-Empty": ""},
			Body:    []byte("h\x00llo"), RequestID: "r-1", App: "shop",
		}}}},
		{"empty call", worker.Frame{ID: 2, Call: &worker.Call{Instance: 1, Request: &sdk.Request{}}}},
		{"unload", worker.Frame{Unload: &worker.Unload{Instance: 9}}},
		{"loaded", worker.Frame{ID: 3, Loaded: &worker.Loaded{Goroutine: 42}}},
		{"load failed", worker.Frame{ID: 3, Loaded: &worker.Loaded{Err: &worker.Error{Kind: worker.KindCompile, Message: "undefined: x", Line: 6, Column: 27}}}},
		{"result", worker.Frame{ID: 4, Result: &worker.Result{
			Response: sdk.Response{Status: 201, Headers: map[string]string{"Location": "/x"}, Body: []byte(`{"ok":true}`)},
			Output:   "log line\n", Duration: 1500 * time.Microsecond,
		}}},
		{"panic", worker.Frame{ID: 5, Result: &worker.Result{Err: &worker.Error{Kind: worker.KindPanic, Message: "boom", Line: 4, Column: 9, Func: "main.Handle"}}}},
		{"response too large", worker.Frame{ID: 6, Result: &worker.Result{Err: &worker.Error{Kind: worker.KindResponseTooLarge, Message: "response too large: 7340032 bytes, limit 6291456"}}}},
	}
	for _, tc := range frames {
		t.Run(tc.name, func(t *testing.T) {
			enc := worker.AppendFrame(nil, &tc.frame)
			payload, err := worker.ReadFrame(bufio.NewReader(bytes.NewReader(enc)), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := worker.DecodeFrame(payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.frame) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.frame)
			}
		})
	}
}

func TestMalformedFrames(t *testing.T) {
	valid := worker.AppendFrame(nil, &worker.Frame{ID: 1, Loaded: &worker.Loaded{}})[4:]
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "0 bodies, want 1"},
		{"only an id", []byte{0x08, 0x01}, "0 bodies, want 1"},
		{"two bodies", append(append([]byte{}, valid...), valid[2:]...), "2 bodies, want 1"},
		{"truncated tag", []byte{0x80}, "bad tag"},
		{"truncated body", []byte{0x2a, 0x05, 0x0a}, "field 5"},
		{"body as varint", []byte{0x28, 0x01}, "field 5 has wire type 0, want 2"},
		{"id as bytes", []byte{0x0a, 0x00, 0x2a, 0x00}, "field 1 has wire type 2, want 0"},
		{"bad nested field", []byte{0x1a, 0x02, 0x08, 0x80}, "field 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := worker.DecodeFrame(tc.payload)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "worker: malformed frame: ") {
				t.Errorf("DecodeFrame(% x) = %v, want an error with %q", tc.payload, err, tc.want)
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, worker.MaxFrame+1)
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
			_, err := worker.ReadFrame(bufio.NewReader(bytes.NewReader(tc.input)), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadFrame = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeFrame checks that no payload makes the decoder panic, and
// that whatever it accepts encodes back to a frame that decodes the same.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(worker.AppendFrame(nil, &worker.Frame{ID: 1, Call: &worker.Call{Instance: 2, Request: &sdk.Request{
		Method: "GET", Query: url.Values{"a": {"b"}}, Headers: map[string]string{"A": "b"}}}})[4:])
	f.Add(worker.AppendFrame(nil, &worker.Frame{ID: 1, Result: &worker.Result{Err: &worker.Error{Kind: worker.KindPanic, Message: "x"}}})[4:])
	f.Add([]byte{0x2a, 0x00})
	f.Fuzz(func(t *testing.T, payload []byte) {
		fr, err := worker.DecodeFrame(payload)
		if err != nil {
			return
		}
		// Encoding drops what carries nothing (zero fields, empty
		// lists), so the first re-encoding may differ from the input;
		// from then on a round trip must change nothing.
		once := roundTrip(t, fr)
		if twice := roundTrip(t, once); !reflect.DeepEqual(twice, once) {
			t.Fatalf("round trip changed the frame:\n got %+v\nwant %+v", twice, once)
		}
	})
}

func roundTrip(t *testing.T, f *worker.Frame) *worker.Frame {
	t.Helper()
	got, err := worker.DecodeFrame(worker.AppendFrame(nil, f)[4:])
	if err != nil {
		t.Fatalf("re-encoded frame does not decode: %v", err)
	}
	return got
}
