package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/picloud/picloud/models"
)

// maxFetchPatterns bounds one of an app's fetch lists.
const maxFetchPatterns = 256

// applyFetchLists takes the settings fetch_allow and fetch_deny (lists
// of host patterns, null for none) out of in and applies them to s: the
// hosts an app's scripts may fetch from, and those they may not.
func applyFetchLists(s *models.AppSettings, in map[string]json.RawMessage) error {
	for name, field := range map[string]*models.HostList{"fetch_allow": &s.FetchAllow, "fetch_deny": &s.FetchDeny} {
		raw, ok := in[name]
		if !ok {
			continue
		}
		delete(in, name)
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			*field = ""
			continue
		}
		var patterns []string
		if err := json.Unmarshal(raw, &patterns); err != nil {
			return invalid("settings."+name, "must be a list of host patterns or null, got %s", raw)
		}
		if len(patterns) == 0 || len(patterns) > maxFetchPatterns {
			return invalid("settings."+name, "must hold 1 to %d patterns (null for no list)", maxFetchPatterns)
		}
		for i, p := range patterns {
			norm, err := hostPattern(p)
			if err != nil {
				return invalid("settings."+name, "pattern %d: %v", i+1, err)
			}
			patterns[i] = norm
		}
		*field = models.NewHostList(patterns)
	}
	return nil
}

// hostPattern checks and normalizes one pattern: "*", "*.example.com",
// a host name or an IP address.
func hostPattern(p string) (string, error) {
	p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
	if p == "*" {
		return p, nil
	}
	if _, err := netip.ParseAddr(strings.Trim(p, "[]")); err == nil {
		return strings.Trim(p, "[]"), nil
	}
	name := strings.TrimPrefix(p, "*.")
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("%q is not a host pattern", p)
	}
	for label := range strings.SplitSeq(name, ".") {
		if !isHostLabel(label) {
			return "", fmt.Errorf("%q is not a host pattern such as \"api.example.com\", \"*.example.com\" or \"*\"", p)
		}
	}
	return p, nil
}

func isHostLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
