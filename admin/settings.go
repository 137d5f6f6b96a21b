package admin

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/picloud/picloud/models"
)

// Bounds of the per-app and per-script settings.
const (
	maxTimeoutMS       = 10 * 60 * 1000 // ten minutes
	maxConcurrency     = 1024
	maxResponseBodyCap = 64 << 20
	maxOutputCap       = models.MaxRecordedOutput
	maxKVKeysCap       = 100_000_000
	maxKVBytesCap      = 1 << 40
)

// setting is one limit of an app or a script: the field it sets and the
// range it may take; or, when flag is set, a switch.
type setting struct {
	field    **int64
	min, max int64
	unit     string
	flag     **bool
}

// bounded is a setting of a number in [min, max] unit.
func bounded(field **int64, min, max int64, unit string) setting {
	return setting{field: field, min: min, max: max, unit: unit}
}

// appSettings binds the per-app limits of s by their JSON name.
func (a *API) appSettings(s *models.AppSettings) map[string]setting {
	return map[string]setting{
		"timeout_ms":      bounded(&s.TimeoutMS, 1, maxTimeoutMS, "milliseconds"),
		"max_concurrency": bounded(&s.MaxConcurrency, 1, maxConcurrency, "invocations"),
		"max_output":      bounded(&s.MaxOutput, 1, maxOutputCap, "bytes"),
		// fasthttp refuses bigger bodies before ingress sees them, so an
		// app may lower the server's limit but not raise it.
		"max_request_body":  bounded(&s.MaxRequestBody, 1, a.maxRequestBody, "bytes (server.max_request_body)"),
		"max_response_body": bounded(&s.MaxResponseBody, 1, maxResponseBodyCap, "bytes"),
		"kv_max_keys":       bounded(&s.KVMaxKeys, 1, maxKVKeysCap, "keys"),
		"kv_max_bytes":      bounded(&s.KVMaxBytes, 1, maxKVBytesCap, "bytes"),
		"public_errors":     {flag: &s.PublicErrors},
	}
}

// scriptSettings binds the per-script limits of s by their JSON name.
func scriptSettings(s *models.ScriptSettings) map[string]setting {
	return map[string]setting{
		"timeout_ms":        bounded(&s.TimeoutMS, 1, maxTimeoutMS, "milliseconds"),
		"max_concurrency":   bounded(&s.MaxConcurrency, 1, maxConcurrency, "invocations"),
		"max_output":        bounded(&s.MaxOutput, 1, maxOutputCap, "bytes"),
		"max_response_body": bounded(&s.MaxResponseBody, 1, maxResponseBodyCap, "bytes"),
	}
}

// applySettings applies the changes of a PATCH to the fields of known: a
// number sets a limit (a boolean a switch), null resets it to the default.
func applySettings(known map[string]setting, in map[string]json.RawMessage) error {
	for name, raw := range in {
		st, ok := known[name]
		if !ok {
			return invalid("settings."+name, "unknown setting; the settings are %s", settingNames(known))
		}
		null := bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
		if st.flag != nil {
			var b bool
			if null {
				*st.flag = nil
			} else if err := json.Unmarshal(raw, &b); err != nil {
				return invalid("settings."+name, "must be true, false or null, got %s", raw)
			} else {
				*st.flag = &b
			}
			continue
		}
		if null {
			*st.field = nil
			continue
		}
		var v int64
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalid("settings."+name, "must be a whole number or null, got %s", raw)
		}
		if v < st.min || (st.max > 0 && v > st.max) {
			return invalid("settings."+name, "must be between %d and %d %s, got %d", st.min, st.max, st.unit, v)
		}
		*st.field = &v
	}
	return nil
}

func settingNames(m map[string]setting) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
