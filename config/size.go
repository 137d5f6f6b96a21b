package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Byte size units accepted by ParseSize. They are binary: 1KiB = 1024 bytes.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
	TiB int64 = 1 << 40
)

// sizeUnit returns the multiplier of a ParseSize unit, or 0 if unit is not
// one. Decimal units (KB, MB, ...) are deliberately absent: whether "KB"
// means 1000 or 1024 depends on who wrote it.
func sizeUnit(unit string) int64 {
	switch unit {
	case "", "B":
		return 1
	case "KiB":
		return KiB
	case "MiB":
		return MiB
	case "GiB":
		return GiB
	case "TiB":
		return TiB
	}
	return 0
}

// ParseSize parses a byte size: a whole number of bytes ("65536") or a whole
// number followed by B, KiB, MiB, GiB or TiB, optionally after one space
// ("64KiB", "1 MiB"). Fractions, negative sizes and decimal units ("64KB")
// are refused.
func ParseSize(s string) (int64, error) {
	digits := strings.TrimLeft(s, "0123456789")
	num, unit := s[:len(s)-len(digits)], strings.TrimPrefix(digits, " ")
	if num != "" && strings.HasPrefix(digits, ".") {
		return 0, fmt.Errorf("invalid size %q: use a whole number in a smaller unit (\"1536KiB\", not \"1.5MiB\")", s)
	}
	if num == "" {
		return 0, fmt.Errorf("invalid size %q (use bytes or a unit such as \"64KiB\" or \"1MiB\")", s)
	}
	mult := sizeUnit(unit)
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use B, KiB, MiB, GiB or TiB; 1KiB = 1024 bytes)", s, unit)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}

// FormatSize renders n bytes in the largest unit that divides it exactly,
// in a form ParseSize reads back: 65536 is "64KiB", 1000 is "1000B".
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
