package worker

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const stackOverflow = `runtime: goroutine stack exceeds 67108864-byte limit
runtime: sp=0x1d51f6960390 stack=[0x1d51f6960000, 0x1d51fa960000]
fatal error: stack overflow

runtime stack:
runtime.throw({0x4c6105?, 0x200000001?})
	/usr/local/go/src/runtime/panic.go:1229 +0x48 fp=0x7ffc4c20bae8 sp=0x7ffc4c20bab8 pc=0x479668

goroutine 10 gp=0x1d51f28ba000 m=0 mp=0x584f60 [running]:
main.depth(0x5554ff?)
	/tmp/so/main.go:10 +0x2b fp=0x1d51f69603a0 sp=0x1d51f6960398 pc=0x49e48b

goroutine 1 gp=0x1d51f28421e0 m=nil [chan receive]:
main.main()
`

func TestBlame(t *testing.T) {
	// Calls 1 and 2 run on instances 7 (goroutine 10) and 8 (goroutine
	// 11); 3 loads instance 9, whose goroutine is not known yet.
	pending := map[uint64]*pendingCall{1: {inst: 7}, 2: {inst: 8}, 3: {inst: 9, load: true}}
	goroutines := map[uint64]uint64{10: 7, 11: 8}
	calls := map[uint64]*pendingCall{1: {inst: 7}, 2: {inst: 8}}
	cases := []struct {
		name     string
		pending  map[uint64]*pendingCall
		stuck    uint64
		answered bool
		stderr   string
		want     []uint64
	}{
		{"the crash report names the goroutine of a call", pending, 0, true, stackOverflow, []uint64{1}},
		{"an unknown goroutine: the loads in flight", pending, 0, true, replace(stackOverflow, "goroutine 10 ", "goroutine 12 "), []uint64{3}},
		{"an unknown goroutine and no load: every call", calls, 0, true, replace(stackOverflow, "goroutine 10 ", "goroutine 12 "), []uint64{1, 2}},
		{"no crash report: every call in flight", pending, 0, true, "", []uint64{1, 2, 3}},
		{"a crash report before the first answer", pending, 0, false, stackOverflow, []uint64{1}},
		{"no crash report before the first answer: it failed to start", pending, 0, false, "", nil},
		{"killed for a stuck call: nobody else", pending, 2, true, stackOverflow, nil},
		{"nothing in flight", nil, 0, true, stackOverflow, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(blame(tc.pending, goroutines, tc.stuck, tc.answered, nil, tc.stderr)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("blamed %v, want %v", got, tc.want)
			}
		})
	}
}

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }
