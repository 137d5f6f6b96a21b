package main

import (
	"testing"

	"github.com/picloud/picloud/config"
)

func TestServerProcs(t *testing.T) {
	tests := []struct {
		name        string
		isolation   string
		workerProcs int
		ncpu        int
		env         string
		want        int
		wantOK      bool
	}{
		{"two cores, process", config.IsolationProcess, 1, 2, "", 1, true},
		{"eight cores, process", config.IsolationProcess, 1, 8, "", 7, true},
		{"workers of two cores", config.IsolationProcess, 2, 8, "", 6, true},
		{"one core", config.IsolationProcess, 1, 1, "", 0, false},
		{"workers as wide as the machine", config.IsolationProcess, 4, 4, "", 0, false},
		{"scripts in the server", config.IsolationNone, 1, 2, "", 0, false},
		{"the operator's GOMAXPROCS wins", config.IsolationProcess, 1, 2, "2", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Executor.Isolation, cfg.Executor.WorkerProcs = tt.isolation, tt.workerProcs
			getenv := func(k string) string {
				if k == "GOMAXPROCS" {
					return tt.env
				}
				return ""
			}
			n, ok := serverProcs(cfg, tt.ncpu, getenv)
			if ok != tt.wantOK || (ok && n != tt.want) {
				t.Errorf("serverProcs = %d, %v; want %d, %v", n, ok, tt.want, tt.wantOK)
			}
		})
	}
}
