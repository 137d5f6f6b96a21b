package config

import (
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"0", 0, ""},
		{"65536", 65536, ""},
		{"512B", 512, ""},
		{"64KiB", 64 << 10, ""},
		{"1 MiB", 1 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"1TiB", 1 << 40, ""},
		{"9223372036854775807", math.MaxInt64, ""},
		{"", 0, "invalid size"},
		{"KiB", 0, "invalid size"},
		{"-1", 0, "invalid size"},
		{"64KB", 0, `unknown unit "KB"`},
		{"64kib", 0, `unknown unit "kib"`},
		{"1.5MiB", 0, "whole number"},
		{"64  KiB", 0, "unknown unit"},
		{"9999999TiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("ParseSize(%q): %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseSize(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
		case got != tc.want:
			t.Errorf("ParseSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 1000: "1000B", 1024: "1KiB", 65536: "64KiB", 1536: "1536B",
		3 << 19: "1536KiB", 1 << 20: "1MiB", 5 << 30: "5GiB", 1 << 40: "1TiB",
	} {
		got := FormatSize(n)
		if got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseSize(got); err != nil || back != n {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
}
