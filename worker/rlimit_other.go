//go:build !linux

package worker

import "log/slog"

// limitAddressSpace is a no-op outside Linux: the watchdog alone
// enforces the memory limit there.
func limitAddressSpace(int64, *slog.Logger) {}
