package models

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/uptrace/bun"
)

// Script is a named handler of an app. Its source lives in numbered,
// immutable ScriptVersions; LiveVersion is the one that serves requests.
type Script struct {
	bun.BaseModel `bun:"table:scripts,alias:s" json:"-"`

	ID    int64 `bun:"id,pk,autoincrement" json:"id"`
	AppID int64 `bun:"app_id,notnull" json:"app_id"`
	// Name is unique within the app.
	Name        string         `bun:"name,notnull" json:"name"`
	LiveVersion int64          `bun:"live_version,notnull" json:"live_version"`
	Settings    ScriptSettings `bun:"embed:" json:"settings"`
	CreatedAt   time.Time      `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt   time.Time      `bun:"updated_at,notnull" json:"updated_at"`
}

// ScriptSettings are a script's own limits. A nil field means the app's
// setting, or else the default from config.hcl.
type ScriptSettings struct {
	// TimeoutMS is the time budget of one invocation, in milliseconds.
	TimeoutMS *int64 `bun:"timeout_ms" json:"timeout_ms"`
	// MaxConcurrency is how many invocations may run at once.
	MaxConcurrency *int64 `bun:"max_concurrency" json:"max_concurrency"`
	// MaxOutput bounds the output kept per invocation, in bytes.
	MaxOutput *int64 `bun:"max_output" json:"max_output"`
	// MaxResponseBody bounds the response, in bytes.
	MaxResponseBody *int64 `bun:"max_response_body" json:"max_response_body"`
}

// ScriptVersion is one immutable revision of a script's source. Versions
// count 1, 2, 3... per script.
type ScriptVersion struct {
	bun.BaseModel `bun:"table:script_versions,alias:sv" json:"-"`

	ID       int64  `bun:"id,pk,autoincrement" json:"id"`
	ScriptID int64  `bun:"script_id,notnull" json:"script_id"`
	Version  int64  `bun:"version,notnull" json:"version"`
	Source   string `bun:"source,notnull" json:"source"`
	// Hash is the hex SHA-256 of Source.
	Hash string `bun:"hash,notnull" json:"hash"`
	// Message is what the author said of this version ("" for none).
	Message   string    `bun:"message,notnull" json:"message"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
}

// MaxVersionMessage bounds a version's message, in bytes: a line or
// two, as a commit's subject.
const MaxVersionMessage = 500

// NewVersion is what a save of a script stores: its source and an
// optional message.
type NewVersion struct {
	Source  string
	Message string
}

// LiveScript is a script together with its live version: what an app's
// router needs to serve it.
type LiveScript struct {
	Script
	Version ScriptVersion `json:"version"`
}

// SourceHash returns the hex SHA-256 of a script source, as stored in
// ScriptVersion.Hash.
func SourceHash(source string) string {
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:])
}
