//go:build !linux

package fdlimit

import "errors"

// Raise is a no-op off Linux: it returns 0 (the limit is unknown) and
// errors.ErrUnsupported.
func Raise() (uint64, error) { return 0, errors.ErrUnsupported }
