package sandbox

import (
	"fmt"
	"strconv"
	"strings"
)

// sandboxError is an error that can be a constant.
type sandboxError string

func (e sandboxError) Error() string { return string(e) }

// ErrClosed is the Result.Err of a Call on a closed Instance.
const ErrClosed = sandboxError("sandbox: instance is closed")

// ErrResponseTooLarge is wrapped by the Result.Err of a call whose
// response was over Options.MaxResponseBody.
const ErrResponseTooLarge = sandboxError("response too large")

// PanicError is a panic in a script, as Result.Panic or from New when
// initialising package-level variables panicked.
type PanicError struct {
	// Value is the panic value, formatted with %v.
	Value string
	// Line and Column locate the panic in the script when yaegi reported
	// it (0 otherwise); Func names the script function, e.g. "main.Handle".
	Line   int
	Column int
	Func   string
}

func (e *PanicError) Error() string {
	switch {
	case e.Line == 0:
		return "panic: " + e.Value
	case e.Func == "":
		return fmt.Sprintf("panic: %s (line %d, column %d)", e.Value, e.Line, e.Column)
	default:
		return fmt.Sprintf("panic: %s (line %d, column %d, in %s)", e.Value, e.Line, e.Column, e.Func)
	}
}

// newPanicError describes the recovered value r. traces holds what yaegi
// printed while the panic unwound, innermost frame first:
//
//	4:9: panic: main.divide(...)
//	7:2: panic: main.Handle(...)
func newPanicError(r any, traces string) *PanicError {
	e := &PanicError{Value: formatPanicValue(r)}
	for line := range strings.Lines(traces) {
		where, fn, ok := strings.Cut(strings.TrimSpace(line), ": panic: ")
		if !ok {
			continue
		}
		if l, c, ok := parsePosition(where); ok {
			e.Line, e.Column = l, c
			e.Func = strings.TrimSuffix(fn, "(...)")
			break
		}
	}
	return e
}

// formatPanicValue formats a panic value. The value may be a script type
// whose String or Error method panics in turn.
func formatPanicValue(r any) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("(unprintable panic value of type %T)", r)
		}
	}()
	return fmt.Sprint(r)
}

// compileError turns a yaegi compile error into a *CompileError. yaegi's
// messages look like "6:27: undefined: x", sometimes behind a file name
// ("_.go:6:27: ...") or an extra context.
func compileError(err error) *CompileError {
	msg := err.Error()
	// Find the first "L:C: " whose prefix is empty or ends in ':'.
	rest := msg
	for {
		i := strings.Index(rest, ": ")
		if i < 0 {
			return &CompileError{Line: 1, Column: 1, Message: msg}
		}
		if l, c, ok := parsePosition(rest[:i]); ok {
			return &CompileError{Line: l, Column: c, Message: rest[i+2:]}
		}
		rest = rest[i+2:]
	}
}

// parsePosition parses "L:C" or "file:L:C" into line and column.
func parsePosition(s string) (line, col int, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0, 0, false
	}
	col, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return 0, 0, false
	}
	s = s[:i]
	j := strings.LastIndexByte(s, ':')
	line, err = strconv.Atoi(s[j+1:])
	if err != nil || line <= 0 || col <= 0 {
		return 0, 0, false
	}
	return line, col, true
}

// Errors of a check that gave no verdict on the source's contents (see
// worker.Checker): each is wrapped by an error that names the limit.
const (
	// ErrSourceTooLarge: the source is over the size limit.
	ErrSourceTooLarge = sandboxError("script source too large")
	// ErrCheckLimit: the check took too long, used too much memory or
	// crashed its process; the script is refused.
	ErrCheckLimit = sandboxError("script check over its limits")
	// ErrCheckBusy: every check slot stayed taken; try again later.
	ErrCheckBusy = sandboxError("too many script checks at once")
)
