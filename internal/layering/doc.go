// Package layering owns the check of the import rules between PiCloud's
// packages (DESIGN §2): its test fails when a package imports one it
// must not, directly, or, for the worker child, through any path.
package layering
