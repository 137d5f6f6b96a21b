package models

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Bounds of the key-value storage, the same for every app.
const (
	// MaxKVKey is the longest key, in bytes.
	MaxKVKey = 512
	// MaxKVValue is the largest value, in bytes.
	MaxKVValue = 1 << 20
	// DefaultKVListLimit and MaxKVListLimit bound one page of KVList.
	DefaultKVListLimit = 100
	MaxKVListLimit     = 1000
	// kvCounterSize is what a counter made by KVIncrement counts against
	// its app's quota for its value: the widest int64 in decimal. Counting
	// it once, at creation, keeps an increment a single statement.
	kvCounterSize = 20
)

var (
	// ErrKVQuota: the write would take the app past its KV quota.
	ErrKVQuota = errors.New("kv quota exceeded")
	// ErrKVNotNumber: KVIncrement on a value that is not a decimal int64,
	// or that would overflow one.
	ErrKVNotNumber = errors.New("kv value is not an integer")
	// ErrKVInvalid: a key, value, TTL or cursor out of bounds.
	ErrKVInvalid = errors.New("invalid kv input")
)

// KVEntry is one key of an app's key-value storage.
type KVEntry struct {
	bun.BaseModel `bun:"table:kv_entries,alias:kv" json:"-"`

	AppID int64  `bun:"app_id,pk" json:"-"`
	Key   string `bun:"key,pk" json:"key"`
	Value []byte `bun:"value,notnull" json:"-"`
	// Size is what the entry counts against its app's byte quota: its key
	// and value.
	Size int64 `bun:"size,notnull" json:"size"`
	// ExpiresAt is nil for a key that never expires.
	ExpiresAt *time.Time `bun:"expires_at" json:"expires_at"`
	UpdatedAt time.Time  `bun:"updated_at,notnull" json:"updated_at"`
}

// KVQuota bounds one app's storage. Zero fields mean no bound.
type KVQuota struct {
	MaxKeys  int64 `json:"max_keys"`
	MaxBytes int64 `json:"max_bytes"`
}

// KVUsage is what an app stores: its live keys and their sizes.
type KVUsage struct {
	Keys  int64 `json:"keys"`
	Bytes int64 `json:"bytes"`
}

// KVPage is one page of KVList.
type KVPage struct {
	Keys []string
	// Cursor continues the listing; "" when this is the last page.
	Cursor string
}

// ValidateKVKey reports what is wrong with key, or nil: 1 to MaxKVKey
// bytes of valid UTF-8 without NUL (PostgreSQL text holds nothing else).
func ValidateKVKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: key is empty", ErrKVInvalid)
	case len(key) > MaxKVKey:
		return fmt.Errorf("%w: key is %d bytes, over the limit of %d", ErrKVInvalid, len(key), MaxKVKey)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key is not valid UTF-8", ErrKVInvalid)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: key contains a NUL byte", ErrKVInvalid)
	}
	return nil
}

// HostList is a list of host patterns ("api.example.com",
// "*.example.com", "*"), one per line; "" is no list (SQL NULL). It is a
// string so that settings stay comparable; in JSON it is an array, or
// null for no list.
type HostList string

// NewHostList joins patterns into a HostList.
func NewHostList(patterns []string) HostList {
	return HostList(strings.Join(patterns, "\n"))
}

// Patterns returns the patterns of the list; nil for no list.
func (l HostList) Patterns() []string {
	if l == "" {
		return nil
	}
	return strings.Split(string(l), "\n")
}

// Value implements driver.Valuer.
func (l HostList) Value() (driver.Value, error) {
	if l == "" {
		return nil, nil
	}
	return string(l), nil
}

// Scan implements sql.Scanner.
func (l *HostList) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*l = ""
	case string:
		*l = HostList(v)
	case []byte:
		*l = HostList(v)
	default:
		return fmt.Errorf("scan host list from %T", src)
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (l HostList) MarshalJSON() ([]byte, error) {
	return json.Marshal(l.Patterns())
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *HostList) UnmarshalJSON(b []byte) error {
	var patterns []string
	if err := json.Unmarshal(b, &patterns); err != nil {
		return err
	}
	*l = NewHostList(patterns)
	return nil
}
