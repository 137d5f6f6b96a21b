package domain_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/picloud/picloud/domain"
)

func mustMatcher(t testing.TB, patterns ...string) *domain.Matcher[string] {
	t.Helper()
	m := domain.NewMatcher[string]()
	for _, p := range patterns {
		if err := m.Add(domain.MustParse(p), p); err != nil {
			t.Fatalf("add %s: %v", p, err)
		}
	}
	return m
}

func TestMatchPrecedence(t *testing.T) {
	m := mustMatcher(t,
		"api.example.com",
		"{tenant}.example.com",
		"*.example.com",
		"*.deep.example.com",
		"{app}.{region}.example.com",
		"api.{region}.example.com",
		"{app}.eu.example.com",
		"xn--bcher-kva.example",
	)
	tests := []struct {
		host   string
		want   string
		params map[string]string
	}{
		{"api.example.com", "api.example.com", nil},
		{"acme.example.com", "{tenant}.example.com", map[string]string{"tenant": "acme"}},
		{"a.b.c.example.com", "*.example.com", nil},
		{"x.deep.example.com", "{app}.{region}.example.com", map[string]string{"app": "x", "region": "deep"}},
		{"x.y.deep.example.com", "*.deep.example.com", nil},
		// Compared from the right: the literal "eu" beats {region}.
		{"api.eu.example.com", "{app}.eu.example.com", map[string]string{"app": "api"}},
		{"api.us.example.com", "api.{region}.example.com", map[string]string{"region": "us"}},
		{"web.us.example.com", "{app}.{region}.example.com", map[string]string{"app": "web", "region": "us"}},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", nil},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, params, ok := m.Match([]byte(tt.host))
			if !ok || got != tt.want || !maps.Equal(params, tt.params) {
				t.Fatalf("Match(%q) = %q %v %v; want %q %v", tt.host, got, params, ok, tt.want, tt.params)
			}
			if !domain.MustParse(got).Matches(tt.host) {
				t.Errorf("the claim %s picked for %s does not match it", got, tt.host)
			}
		})
	}
	for _, host := range []string{"example.com", "example.org", "com", "other.test"} {
		if got, _, ok := m.Match([]byte(host)); ok {
			t.Errorf("Match(%q) = %q, want no claim", host, got)
		}
	}
}

func TestAddRefusesCollisions(t *testing.T) {
	m := mustMatcher(t, "api.example.com", "{t}.example.com", "*.example.com")
	for _, p := range []string{"API.example.com.", "{other}.example.com", "*.Example.com"} {
		err := m.Add(domain.MustParse(p), p)
		var ce *domain.CollisionError
		if !errors.As(err, &ce) {
			t.Fatalf("Add(%s) = %v, want a CollisionError", p, err)
		}
	}
	err := m.Add(domain.MustParse("{other}.example.com"), "")
	if want := "domain {other}.example.com collides with the claim {t}.example.com"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
	if m.Len() != 3 {
		t.Errorf("Len = %d after refused adds, want 3", m.Len())
	}
}

func TestAppendHost(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Shop.LocalHost:8080", "shop.localhost", true},
		{"shop.localhost.", "shop.localhost", true},
		{"shop.localhost.:80", "shop.localhost", true},
		{"api.example.com", "api.example.com", true},
		{"[::1]:8080", "", false},
		{"a..b", "", false},
		{".a.b", "", false},
		{"", "", false},
		{":8080", "", false},
		{"a.b:x", "", false},
		{"a_b.example", "", false},
		{"bücher.example", "", false},
		{strings.Repeat("a", 254), "", false},
	}
	for _, tt := range tests {
		got, ok := domain.AppendHost(nil, []byte(tt.in))
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("AppendHost(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	m := mustMatcher(t, "api.example.com", "{t}.example.com", "*.example.com")
	for _, host := range []string{"api.example.com", "a.b.example.com", "nothing.test"} {
		h := []byte(host)
		allocs := testing.AllocsPerRun(100, func() {
			var buf [domain.MaxLength]byte
			norm, _ := domain.AppendHost(buf[:0], h)
			m.Match(norm)
		})
		if allocs != 0 {
			t.Errorf("Match(%q) allocates %.0f times, want 0", host, allocs)
		}
	}
}

// FuzzPattern checks that Parse either refuses a pattern or yields a
// normalized one that parses to itself, and that matching agrees with
// Matches and with the precedence rules.
func FuzzPattern(f *testing.F) {
	f.Add("api.example.com\n{t}.example.com\n*.example.com", "API.example.com:80")
	f.Add("{a}.x.com\nx.{b}.com\n*.com", "x.x.com")
	f.Add("*.a.b\n{x}.{y}.b\na.b", "q.a.b.")
	f.Add("bücher.example\n{t}.xn--bcher-kva.example", "xn--bcher-kva.example")
	f.Add("a..b\n{}.c\n*\n:80", "[::1]:80")
	f.Fuzz(func(t *testing.T, patterns, host string) {
		m := domain.NewMatcher[domain.Pattern]()
		var added []domain.Pattern
		for _, s := range strings.Split(patterns, "\n") {
			p, err := domain.Parse(s)
			if err != nil {
				continue
			}
			again, err := domain.Parse(p.String())
			if err != nil || again.String() != p.String() || again.Key() != p.Key() {
				t.Fatalf("Parse(%q) = %q, which parses to %q, %v", s, p, again, err)
			}
			if len(p.String()) > domain.MaxLength {
				t.Fatalf("Parse(%q) = %q, longer than %d", s, p, domain.MaxLength)
			}
			err = m.Add(p, p)
			collides := false
			for _, q := range added {
				if q.Collides(p) {
					collides = true
				}
				if q.Collides(p) && !q.Overlaps(p) {
					t.Fatalf("%s collides with %s but does not overlap it", q, p)
				}
			}
			if (err != nil) != collides {
				t.Fatalf("Add(%s) = %v; collides with an earlier one: %v", p, err, collides)
			}
			if err == nil {
				added = append(added, p)
			}
		}
		norm, ok := domain.AppendHost(nil, []byte(host))
		if !ok {
			return
		}
		got, params, ok := m.Match(norm)
		var matching []domain.Pattern
		for _, p := range added {
			if p.Matches(string(norm)) {
				matching = append(matching, p)
			}
		}
		if !ok {
			if len(matching) > 0 {
				t.Fatalf("Match(%q) found nothing, but %v match it", norm, matching)
			}
			return
		}
		if !got.Matches(string(norm)) {
			t.Fatalf("Match(%q) = %s, which does not match it", norm, got)
		}
		for _, p := range matching {
			if p.Kind() < got.Kind() {
				t.Fatalf("Match(%q) = %s (%v), but %s (%v) comes first", norm, got, got.Kind(), p, p.Kind())
			}
			if !p.Overlaps(got) {
				t.Fatalf("%s and %s both match %q but Overlaps says no", p, got, norm)
			}
			if p.String() != got.String() && (!got.Precedes(p) || p.Precedes(got)) {
				t.Fatalf("Match(%q) = %s, but it does not precede %s, which also matches", norm, got, p)
			}
		}
		if len(params) != len(got.Params()) {
			t.Fatalf("Match(%q) = %s captured %v", norm, got, params)
		}
		for _, name := range got.Params() {
			v := params[name]
			if v == "" || strings.Contains(v, ".") {
				t.Fatalf("Match(%q) = %s: parameter %s = %q is not one label", norm, got, name, v)
			}
		}
	})
}
