package sdk

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// marshalJSON is json.Marshal, with a fast path for what scripts return
// most: a map[string]any of strings, numbers, booleans and nils. Values
// built by a script reach picloud.JSON through yaegi's reflection, and
// json.Marshal then walks them through reflection again; the fast path
// writes such a map directly, byte for byte as json.Marshal would, and
// leaves anything else (nested values, strings that need escaping,
// floats json formats with an exponent) to it.
func marshalJSON(v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok {
		if b, ok := appendFlatMap(nil, m); ok {
			return b, nil
		}
	}
	return json.Marshal(v)
}

// appendFlatMap appends m as JSON, or reports false when m holds
// something the fast path leaves to json.Marshal.
func appendFlatMap(b []byte, m map[string]any) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	var stack [8]string
	keys := stack[:0]
	size := 2
	for k, v := range m {
		if !plainString(k) {
			return nil, false
		}
		keys = append(keys, k)
		size += len(k) + 6 // quotes, colon, comma and a string's quotes
		if s, ok := v.(string); ok {
			size += len(s)
		} else {
			size += 24 // the longest number
		}
	}
	slices.Sort(keys)
	if b == nil {
		b = make([]byte, 0, size)
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		var ok bool
		if b, ok = appendPlain(b, m[k]); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

// appendPlain appends v as JSON when it is a string without characters
// to escape, an integer, a float json.Marshal writes without an
// exponent, a boolean or nil.
func appendPlain(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		if !plainString(x) {
			return nil, false
		}
		b = append(b, '"')
		b = append(b, x...)
		return append(b, '"'), true
	case bool:
		return strconv.AppendBool(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case float64:
		// json.Marshal writes 'f' format between 1e-6 and 1e21 (and 0).
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64), true
	}
	return nil, false
}

// plainString reports whether json.Marshal writes s as it is between
// quotes: printable ASCII without '"', '\\' and the HTML characters it
// escapes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x80, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
