// Package models owns PiCloud's stored state: the bun models (apps with
// their settings, domain claims and former slugs, scripts and their
// versions, routes, invocation logs, admin users with their sessions and
// setup tokens) and every query over them. It is the
// only package that writes the database; other packages read through the
// queries here and never build SQL themselves.
//
// One *DB serves both backends: an embedded SQLite file (the default, no
// server needed) and PostgreSQL. Every query here runs unchanged on both;
// where the dialects differ (row locks, error codes) the difference is
// handled inside this package. The schema itself belongs to package
// migrations, which (*DB).Migrate applies.
package models
