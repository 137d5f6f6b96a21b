// Package config owns PiCloud's configuration: the defaults, config.hcl,
// and the PICLOUD_* environment variables that override it.
//
// Load reads an optional HCL file, then applies the environment, and returns
// a fully validated *Config whose fields are typed (time.Duration, bytes as
// int64). Every key has a default, so no file is needed. Problems are
// reported the way a person can act on them:
//
//	config.hcl:12,3: unknown key "lisen" in block "server" (did you mean "listen"?)
//	config.hcl:20,13: executor.timeout: invalid duration "fast" (use a Go duration such as "5s", "250ms" or "1m30s")
//	PICLOUD_LOG_LEVEL: log.level: "verbose" is not one of "debug", "info", "warn", "error"
//
// Value syntax, the same in the file and in the environment:
//   - durations are Go duration strings: "250ms", "5s", "1m30s", "2h";
//   - sizes are a whole number of bytes (65536 or "65536") or a whole number
//     with a binary unit: "512B", "64KiB", "1MiB", "2GiB" (see ParseSize);
//   - lists (cluster.join, cluster.roles) are HCL lists in the file and
//     comma-separated text in the environment (or in a file string).
//
// The package only reads configuration; it opens no files other than the
// config file and starts nothing. The list of keys lives in one table
// (settings.go); the example config.hcl at the repository root documents
// every key at its default, and a test keeps the two in step.
package config
