package worker

import (
	"testing"
	"time"
)

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	const base, most = 100 * time.Millisecond, 30 * time.Second
	cases := []struct {
		crashes int
		want    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{9, 25600 * time.Millisecond},
		{10, most},
		{64, most},
		{1000, most},
	}
	for _, tc := range cases {
		if got := backoffAfter(tc.crashes, base, most); got != tc.want {
			t.Errorf("backoffAfter(%d) = %s, want %s", tc.crashes, got, tc.want)
		}
	}
}
