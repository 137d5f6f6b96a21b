// Package fdlimit owns the process's open-file limit (RLIMIT_NOFILE):
// raising the soft limit to the hard one at start, and saying what it
// is, so the server can keep its connections below it.
package fdlimit
