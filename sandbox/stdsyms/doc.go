// Package stdsyms holds yaegi's symbol tables of the standard packages
// scripts may import, and of no others: copies of the generated files of
// github.com/traefik/yaegi/stdlib (the version go.mod names) for the
// allowlist of sandbox/imports.go. Importing yaegi's stdlib instead links
// and initialises the symbols of the whole standard library into every
// PiCloud process (about 12 MiB of resident memory at start, in the
// server, each worker and each checker), for packages no script can use.
//
// The files are generated: `go generate ./sandbox/stdsyms` copies them
// again (after a yaegi upgrade or an allowlist change), and a test of the
// sandbox checks that every allowed package is here with exactly yaegi's
// symbols.
package stdsyms

import "reflect"

//go:generate go run gen.go

// Symbols are the symbols per package, keyed as yaegi's stdlib keys them
// ("strings/strings").
var Symbols = map[string]map[string]reflect.Value{}

// MapTypes are the interfaces yaegi checks a value for when it is passed
// to a host func that takes any (fmt.Stringer for fmt.Println, ...).
var MapTypes = map[reflect.Value][]reflect.Type{}
