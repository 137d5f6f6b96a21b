package sdk

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// TestJSONMatchesEncodingJSON: picloud.JSON's body is json.Marshal's,
// byte for byte, on its fast path and off it.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	many := map[string]any{}
	for _, k := range []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"} {
		many[k] = k
	}
	tests := []struct {
		name string
		v    any
	}{
		{"hello", map[string]any{"hello": "world"}},
		{"sorted keys", map[string]any{"b": 1, "a": 2, "c": 3}},
		{"more keys than the stack", many},
		{"empty", map[string]any{}},
		{"nil map", map[string]any(nil)},
		{"plain values", map[string]any{"s": "x y", "t": true, "f": false, "n": nil,
			"i": -42, "i64": int64(math.MinInt64), "i32": int32(7), "u": uint(3), "u64": uint64(math.MaxUint64)}},
		{"floats", map[string]any{"a": 1.5, "b": -0.000001, "c": 123456789.125, "d": 1e20, "e": 0.0, "f": math.Copysign(0, -1), "g": 3.0}},
		{"floats with an exponent", map[string]any{"a": 1e21}},
		{"tiny float", map[string]any{"a": 1e-7}},
		{"escaped strings", map[string]any{"html": "<a href=\"x\">&</a>", "nl": "a\nb", "uni": "héllo", "bad": "\xff", "ls": "\u2028"}},
		{"escaped key", map[string]any{"<k>": 1, "é": 2}},
		{"nested", map[string]any{"list": []any{1, "2"}, "obj": map[string]any{"x": 1}}},
		{"other types", map[string]any{"f32": float32(1.1), "i8": int8(1), "num": json.Number("12")}},
		{"not a map", []string{"a", "b"}},
		{"a string", "x"},
		{"map of strings", map[string]string{"a": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			got := JSON(200, tt.v)
			if got.Status != 200 || !bytes.Equal(got.Body, want) {
				t.Errorf("JSON = %d %s, want 200 %s", got.Status, got.Body, want)
			}
		})
	}
	t.Run("NaN", func(t *testing.T) {
		got := JSON(200, map[string]any{"a": math.NaN()})
		if got.Status != 500 {
			t.Errorf("JSON of NaN = %d %s, want the 500 of json.Marshal's error", got.Status, got.Body)
		}
	})
}

func BenchmarkJSONHello(b *testing.B) {
	v := map[string]any{"hello": "world"}
	b.ReportAllocs()
	for b.Loop() {
		JSON(200, v)
	}
}
