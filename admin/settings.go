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
// range it may take.
type setting struct {
	field    **int64
	min, max int64
	unit     string
}

// appSettings binds the per-app limits of s by their JSON name.
func (a *API) appSettings(s *models.AppSettings) map[string]setting {
	return map[string]setting{
		"timeout_ms":      {&s.TimeoutMS, 1, maxTimeoutMS, "milliseconds"},
		"max_concurrency": {&s.MaxConcurrency, 1, maxConcurrency, "invocations"},
		"max_output":      {&s.MaxOutput, 1, maxOutputCap, "bytes"},
		// fasthttp refuses bigger bodies before ingress sees them, so an
		// app may lower the server's limit but not raise it.
		"max_request_body":  {&s.MaxRequestBody, 1, a.maxRequestBody, "bytes (server.max_request_body)"},
		"max_response_body": {&s.MaxResponseBody, 1, maxResponseBodyCap, "bytes"},
		"kv_max_keys":       {&s.KVMaxKeys, 1, maxKVKeysCap, "keys"},
		"kv_max_bytes":      {&s.KVMaxBytes, 1, maxKVBytesCap, "bytes"},
	}
}

// scriptSettings binds the per-script limits of s by their JSON name.
func scriptSettings(s *models.ScriptSettings) map[string]setting {
	return map[string]setting{
		"timeout_ms":        {&s.TimeoutMS, 1, maxTimeoutMS, "milliseconds"},
		"max_concurrency":   {&s.MaxConcurrency, 1, maxConcurrency, "invocations"},
		"max_output":        {&s.MaxOutput, 1, maxOutputCap, "bytes"},
		"max_response_body": {&s.MaxResponseBody, 1, maxResponseBodyCap, "bytes"},
	}
}

// applySettings applies the changes of a PATCH to the fields of known: a
// number sets a limit, null resets it to the default.
func applySettings(known map[string]setting, in map[string]json.RawMessage) error {
	for name, raw := range in {
		st, ok := known[name]
		if !ok {
			return invalid("settings."+name, "unknown setting; the settings are %s", settingNames(known))
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
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
