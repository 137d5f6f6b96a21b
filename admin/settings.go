package admin

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/picloud/picloud/models"
)

// Bounds of the per-app settings.
const (
	maxTimeoutMS       = 10 * 60 * 1000 // ten minutes
	maxConcurrency     = 1024
	maxResponseBodyCap = 64 << 20
)

// setting is one per-app limit: where it lives in models.AppSettings and
// the range it may take.
type setting struct {
	field    func(*models.AppSettings) **int64
	min, max int64
	unit     string
}

// settings lists the per-app limits by their JSON name.
func (a *API) settings() map[string]setting {
	return map[string]setting{
		"timeout_ms":      {func(s *models.AppSettings) **int64 { return &s.TimeoutMS }, 1, maxTimeoutMS, "milliseconds"},
		"max_concurrency": {func(s *models.AppSettings) **int64 { return &s.MaxConcurrency }, 1, maxConcurrency, "invocations"},
		// fasthttp refuses bigger bodies before ingress sees them, so an
		// app may lower the server's limit but not raise it.
		"max_request_body":  {func(s *models.AppSettings) **int64 { return &s.MaxRequestBody }, 1, a.maxRequestBody, "bytes (server.max_request_body)"},
		"max_response_body": {func(s *models.AppSettings) **int64 { return &s.MaxResponseBody }, 1, maxResponseBodyCap, "bytes"},
	}
}

// applySettings returns cur with the changes of a PATCH applied: a
// number sets a limit, null resets it to the config default.
func (a *API) applySettings(cur models.AppSettings, in map[string]json.RawMessage) (models.AppSettings, error) {
	known := a.settings()
	for name, raw := range in {
		st, ok := known[name]
		if !ok {
			return cur, invalid("settings."+name, "unknown setting; the settings are %s", settingNames(known))
		}
		ptr := st.field(&cur)
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			*ptr = nil
			continue
		}
		var v int64
		if err := json.Unmarshal(raw, &v); err != nil {
			return cur, invalid("settings."+name, "must be a whole number or null, got %s", raw)
		}
		if v < st.min || (st.max > 0 && v > st.max) {
			return cur, invalid("settings."+name, "must be between %d and %d %s, got %d", st.min, st.max, st.unit, v)
		}
		*ptr = &v
	}
	return cur, nil
}

func settingNames(m map[string]setting) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
