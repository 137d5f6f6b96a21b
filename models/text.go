package models

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Recorded text is text PiCloud writes down rather than accepts: a
// request's path and method, what a script printed, an error's message.
// Anyone who can send a request controls some of it, so it is made
// storable instead of refused: both backends take it, and a bad row can
// never fail the batch it is written in.

// Bounds of recorded text, in bytes. What is longer
// is cut (at a character boundary) before it is stored. Output is already
// capped by the executor's max_output; its bound here only backs that
// cap up, so it is the largest max_output an app or script may set.
const (
	MaxRecordedRequestID = 128
	MaxRecordedMethod    = 32
	MaxRecordedPath      = 8 << 10
	MaxRecordedError     = 64 << 10
	MaxRecordedOutput    = 16 << 20
	// A session's user agent and client address.
	MaxRecordedUserAgent = 1 << 10
	MaxRecordedIP        = 64
	// The node that ran an invocation (config's cluster.node_name bound).
	MaxRecordedNode = 64
)

// nulSymbol stands for a NUL byte in recorded text: PostgreSQL cannot
// store NUL in text at all, bun refuses to quote it, and the symbol
// shows where one was.
const nulSymbol = "\u2400" // ␀

// recordedText returns s as storable text of at most max bytes: valid
// UTF-8 (each invalid byte sequence becomes U+FFFD) with every NUL byte
// shown as U+2400. Text that is already fine is returned as is, without
// allocating.
func recordedText(s string, max int) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) && len(s) <= max {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", nulSymbol)
	return cutText(s, max)
}

// cutText cuts valid UTF-8 s to at most max bytes without splitting a
// character.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// storable makes the recorded text of inv storable; see recordedText.
func (inv *Invocation) storable() {
	inv.RequestID = recordedText(inv.RequestID, MaxRecordedRequestID)
	inv.Method = recordedText(inv.Method, MaxRecordedMethod)
	inv.Path = recordedText(inv.Path, MaxRecordedPath)
	inv.Output = recordedText(inv.Output, MaxRecordedOutput)
	inv.Error = recordedText(inv.Error, MaxRecordedError)
	inv.Trigger = recordedText(inv.Trigger, MaxRecordedMethod)
	if !json.Valid([]byte(inv.Fetches)) {
		inv.Fetches = ""
	}
	inv.Node = recordedText(inv.Node, MaxRecordedNode)
}

// lookupText reports whether s can be looked up at all: bun refuses to
// quote a NUL byte (the whole query fails), and no stored key has one.
// Lookups by outside text check it first, so that such a key is simply
// not found instead of an internal error.
func lookupText(s string) bool {
	return strings.IndexByte(s, 0) < 0
}
