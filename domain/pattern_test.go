package domain_test

import (
	"strings"
	"testing"

	"github.com/picloud/picloud/domain"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		kind   domain.Kind
		key    string
		params []string
	}{
		{"api.example.com", "api.example.com", domain.Exact, "api.example.com", nil},
		{"API.Example.COM", "api.example.com", domain.Exact, "api.example.com", nil},
		{"api.example.com.", "api.example.com", domain.Exact, "api.example.com", nil},
		{"localhost", "localhost", domain.Exact, "localhost", nil},
		{"bücher.example", "xn--bcher-kva.example", domain.Exact, "xn--bcher-kva.example", nil},
		{"BÜCHER.example", "xn--bcher-kva.example", domain.Exact, "xn--bcher-kva.example", nil},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", domain.Exact, "xn--bcher-kva.example", nil},
		{"*.example.com", "*.example.com", domain.Wildcard, "*.example.com", nil},
		{"*.EXAMPLE.com.", "*.example.com", domain.Wildcard, "*.example.com", nil},
		{"{tenant}.example.com", "{tenant}.example.com", domain.Param, "{}.example.com", []string{"tenant"}},
		{"{Tenant}.Example.com", "{Tenant}.example.com", domain.Param, "{}.example.com", []string{"Tenant"}},
		{"{app}.{region}.example.com", "{app}.{region}.example.com", domain.Param, "{}.{}.example.com", []string{"app", "region"}},
		{"api.{region}.example.com", "api.{region}.example.com", domain.Param, "api.{}.example.com", []string{"region"}},
		{"{t}.bücher.example", "{t}.xn--bcher-kva.example", domain.Param, "{}.xn--bcher-kva.example", []string{"t"}},
		{"a-b.c1.example", "a-b.c1.example", domain.Exact, "a-b.c1.example", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := domain.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if p.String() != tt.want || p.Kind() != tt.kind || p.Key() != tt.key {
				t.Errorf("Parse(%q) = %q %v key %q; want %q %v key %q", tt.in, p, p.Kind(), p.Key(), tt.want, tt.kind, tt.key)
			}
			if got := p.Params(); strings.Join(got, ",") != strings.Join(tt.params, ",") {
				t.Errorf("Params() = %v, want %v", got, tt.params)
			}
			again, err := domain.Parse(p.String())
			if err != nil || again.String() != p.String() {
				t.Errorf("normalized form %q does not parse to itself: %v, %v", p, again, err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{".", "empty"},
		{"api.example.com:8080", "no port"},
		{"http://api.example.com", "without a scheme"},
		{"api.example.com/x", "without a path"},
		{"api.example.com?x", "without a path"},
		{"user@api.example.com", "user info"},
		{"a..example.com", "label 2 is empty"},
		{".example.com", "label 1 is empty"},
		{"api.example.com..", "is empty"},
		{"a b.example.com", "space"},
		{"a\x00.example.com", "control"},
		{"under_score.example.com", "not a valid host name label"},
		{"-a.example.com", "label"},
		{"a-.example.com", "label"},
		{strings.Repeat("a", 64) + ".example.com", "label"},
		{strings.Repeat("a.", 150) + "com", "limit is 253"},
		{strings.Repeat("a", 1100), "limit"},
		{"*", "lone '*'"},
		{"*.", "lone '*'"},
		{"a.*.example.com", "first label"},
		{"*.*.example.com", "first label"},
		{"a*.example.com", "whole label"},
		{"{}.example.com", "has no name"},
		{"{1a}.example.com", "not starting with a digit"},
		{"{a-b}.example.com", "letters, digits"},
		{"x{a}.example.com", "whole label"},
		{"{a}x.example.com", "whole label"},
		{"{a.example.com", "whole label"},
		{"{a}.{a}.example.com", "used twice"},
		{"{a}.{b}", "literal label"},
		{"*.{a}.example.com", "no parameters"},
		{"10.0.0.1", "IP address"},
		{"example.123", "IP address"},
		{strings.Repeat("{a}.", 0) + "{a}.{b}.{c}.{d}.{e}.{f}.{g}.{h}.{i}.example.com", "limit is 8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := domain.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q lacks %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestCollidesAndOverlaps(t *testing.T) {
	tests := []struct {
		a, b     string
		collides bool
		overlaps bool
	}{
		{"api.example.com", "api.example.com", true, true},
		{"API.example.com.", "api.example.com", true, true},
		{"{a}.example.com", "{b}.example.com", true, true},
		{"*.example.com", "*.EXAMPLE.com", true, true},
		{"{a}.{b}.example.com", "{x}.{y}.example.com", true, true},
		{"api.example.com", "*.example.com", false, true},
		{"api.example.com", "{t}.example.com", false, true},
		{"{t}.example.com", "*.example.com", false, true},
		{"{a}.x.com", "x.{b}.com", false, true},
		{"*.example.com", "*.a.example.com", false, true},
		{"*.example.com", "example.com", false, false},
		{"{t}.example.com", "example.com", false, false},
		{"{t}.example.com", "{t}.{u}.example.com", false, false},
		{"{t}.example.com", "*.a.example.com", false, false},
		{"{t}.a.example.com", "*.example.com", false, true},
		{"*.example.com", "*.example.org", false, false},
		{"a.example.com", "b.example.com", false, false},
	}
	for _, tt := range tests {
		a, b := domain.MustParse(tt.a), domain.MustParse(tt.b)
		if got := a.Collides(b); got != tt.collides {
			t.Errorf("%s collides with %s = %v, want %v", a, b, got, tt.collides)
		}
		if got := b.Collides(a); got != tt.collides {
			t.Errorf("%s collides with %s = %v, want %v", b, a, got, tt.collides)
		}
		if got := a.Overlaps(b); got != tt.overlaps {
			t.Errorf("%s overlaps %s = %v, want %v", a, b, got, tt.overlaps)
		}
		if got := b.Overlaps(a); got != tt.overlaps {
			t.Errorf("%s overlaps %s = %v, want %v", b, a, got, tt.overlaps)
		}
	}
}

func TestCoversChildOf(t *testing.T) {
	tests := []struct {
		pattern, base string
		want          bool
	}{
		{"shop.localhost", "localhost", true},
		{"{t}.localhost", "localhost", true},
		{"*.localhost", "localhost", true},
		{"a.shop.localhost", "localhost", false},
		{"*.shop.localhost", "localhost", false},
		{"localhost", "localhost", false},
		{"shop.example.com", "localhost", false},
		{"shop.apps.example.com", "apps.example.com", true},
		{"*.example.com", "apps.example.com", true},
		{"*.com", "apps.example.com", true},
		{"{a}.{b}.example.com", "apps.example.com", true},
		{"{a}.{b}.example.com", "apps.example.org", false},
	}
	for _, tt := range tests {
		if got := domain.MustParse(tt.pattern).CoversChildOf(tt.base); got != tt.want {
			t.Errorf("%s covers a child of %s = %v, want %v", tt.pattern, tt.base, got, tt.want)
		}
	}
}
