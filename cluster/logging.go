package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// memberlistLogger is a *log.Logger for memberlist that hands its lines
// to logger: "[DEBUG]" and "[INFO]" lines (probes, pushes and pulls,
// suspicions the node reports itself) at Debug, "[WARN]" and "[ERR]" at
// Warn (a peer that is down is a warning; the node carries on). Membership
// changes are logged by the membership itself, once, at Info.
func memberlistLogger(logger *slog.Logger) *log.Logger {
	return log.New(memberlistWriter{logger: logger.With(slog.String("lib", "memberlist"))}, "", 0)
}

type memberlistWriter struct{ logger *slog.Logger }

func (w memberlistWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelDebug
	for _, l := range []struct {
		prefix string
		level  slog.Level
	}{{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelDebug}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelWarn}, {"[ERROR]", slog.LevelWarn}} {
		if rest, ok := bytes.CutPrefix(line, []byte(l.prefix)); ok {
			line, level = bytes.TrimSpace(rest), l.level
			break
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	if w.logger.Enabled(context.Background(), level) {
		w.logger.Log(context.Background(), level, string(line))
	}
	return len(p), nil
}

// libLogger is protoactor's logger: logger's handler at Warn and above, so
// the library's Info chatter (every topology change, every endpoint) stays
// out while its warnings and errors come through.
func libLogger(logger *slog.Logger) *slog.Logger {
	return slog.New(minLevel{Handler: logger.Handler(), min: slog.LevelWarn}).With(slog.String("lib", "protoactor"))
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
