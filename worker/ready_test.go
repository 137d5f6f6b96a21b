package worker

import (
	"context"
	"strings"
	"testing"
)

func TestReady(t *testing.T) {
	tests := []struct {
		name    string
		command []string
		wantErr string
	}{
		{"starts and wants its socket", []string{"/bin/sh", "-c", "exit 4"}, ""},
		{"missing executable", []string{"/nonexistent/picloud", "worker"}, "no such file"},
		{"not a program", []string{"/etc/hostname", "worker"}, "start worker command"},
		{"exits 0 without a socket", []string{"/bin/sh", "-c", "exit 0"}, "exited 0"},
		{"crashes", []string{"/bin/sh", "-c", "exit 2"}, "exit status 2"},
		// The probe runs with a real worker's environment.
		{"gets the worker environment", []string{"/bin/sh", "-c", `test -n "$GOMEMLIMIT" && test "$GOTRACEBACK" = single && exit 4`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(Options{Command: tt.command})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			err = e.Ready(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Ready = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Ready = %v, want an error with %q", err, tt.wantErr)
			}
			// The answer is remembered: a second call starts nothing.
			if again := e.Ready(context.Background()); (again == nil) != (err == nil) {
				t.Fatalf("second Ready = %v, first %v", again, err)
			}
		})
	}
}
