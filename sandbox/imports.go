package sandbox

import "slices"

// sdkImportPath is the import path scripts use for the SDK.
const sdkImportPath = "picloud"

// importRule says how one allowed import is offered to scripts.
type importRule struct {
	path string
	// drop lists exported names withheld from scripts.
	drop []string
	// dropVars withholds every package-level variable (see isolateVar).
	dropVars bool
}

// importRules is the import allowlist, the single source of truth for
// Check, the symbol table and AllowedImports. It is a function rather than
// a package variable so nothing can change it at run time.
//
// The allowlist is a closed world: no exposed symbol (a function's
// parameters and results, a type's exported fields and methods, a
// variable) may lead, however indirectly, to a type of a package that is
// not on it. TestAllowlistIsClosed walks the symbol table to prove it;
// what it finds is withheld here.
//
// Left out on purpose: os, os/exec, syscall, unsafe, reflect, runtime,
// plugin, net, net/http, io/ioutil, io/fs, path/filepath, log, embed
// (they reach the host), sync and sync/atomic (scripts cannot start
// goroutines, so they only add ways to deadlock), text/template and
// html/template (ParseFiles and ParseGlob read the host's disk), hash/crc32
// (MakeTable hands out the host's shared tables), context (AfterFunc
// starts goroutines), and slices, maps and cmp: yaegi v0.16.1 ships them
// as generic source it cannot compile on this Go (slices.Equal, Clone,
// Insert, Reverse, maps.Clone, cmp.Or... fail with "undefined type for
// E" at a line of yaegi's copy), so scripts use sort and loops instead.
func importRules() []importRule {
	return []importRule{
		{path: sdkImportPath},
		{path: "bytes"},
		{path: "crypto/hmac"},
		{path: "crypto/md5"},
		// Int and Prime take and return *big.Int: math/big is not on the
		// allowlist, and its methods run unbounded host computations.
		{path: "crypto/rand", drop: []string{"Int", "Prime"}},
		{path: "crypto/sha1"},
		{path: "crypto/sha256"},
		{path: "crypto/sha512"},
		{path: "encoding/base64"},
		{path: "encoding/hex"},
		// These error types carry reflect.Type, reflect.StructField and
		// reflect.Value fields, from which a script would reach
		// reflect.Value.Set and any memory of its process. Scripts still
		// get the errors, as error values: Error() says what went wrong.
		{path: "encoding/json", drop: []string{"InvalidUnmarshalError", "MarshalerError", "UnmarshalFieldError",
			"UnmarshalTypeError", "UnsupportedTypeError", "UnsupportedValueError"}},
		{path: "errors"},
		// Scan, Scanf and Scanln read the process's stdin.
		{path: "fmt", drop: []string{"Scan", "Scanf", "Scanln"}},
		{path: "hash"},
		{path: "html"},
		{path: "io"},
		{path: "math"},
		{path: "math/rand"},
		{path: "net/url"},
		{path: "path"},
		{path: "regexp"},
		{path: "sort"},
		{path: "strconv"},
		{path: "strings"},
		// AfterFunc runs a func on a new goroutine, where a panic kills
		// the process. LoadLocation reads the host's time zone files (and
		// $ZONEINFO): the disk and the environment are out of bounds, so
		// scripts use FixedZone or LoadLocationFromTZData.
		{path: "time", drop: []string{"AfterFunc", "LoadLocation"}},
		// unicode's variables are shared lookup tables (unicode.Upper,
		// unicode.Categories, ...) with exported slices and maps; its
		// functions and constants are enough for scripts.
		{path: "unicode", dropVars: true},
		{path: "unicode/utf8"},
	}
}

// lookupImport returns the rule for an import path, if it is allowed.
func lookupImport(path string) (importRule, bool) {
	for _, r := range importRules() {
		if r.path == path {
			return r, true
		}
	}
	return importRule{}, false
}

// AllowedImports returns the import paths scripts may use, sorted.
func AllowedImports() []string {
	rules := importRules()
	paths := make([]string, 0, len(rules))
	for _, r := range rules {
		paths = append(paths, r.path)
	}
	slices.Sort(paths)
	return paths
}
