// Package cron parses cron expressions and finds the times they name.
//
// An expression has 5 fields (minute hour day-of-month month day-of-week)
// or 6 with seconds first (second minute hour day-of-month month
// day-of-week). Each field is "*" (or "?" for the day fields), a value, a
// range "a-b", a step "*/n", "a-b/n" or "a/n" (from a to the field's end),
// or a comma-separated list of those. Months take JAN–DEC and days of the
// week SUN–SAT (either case); Sunday is 0 or 7. The descriptors @yearly
// (@annually), @monthly, @weekly, @daily (@midnight) and @hourly are
// accepted too.
//
// As in Vixie cron, when both day-of-month and day-of-week are restricted
// (neither is "*" or "?"), a day matches when either matches.
//
// Times are matched on the wall clock of a time zone. On a day when the
// clocks go forward, a wall-clock time inside the gap does not exist and
// is skipped; when they go back, a repeated wall-clock time matches once
// (its first occurrence).
package cron

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is returned (wrapped, with the reason) for an expression that
// does not parse.
var ErrInvalid = errors.New("cron: invalid expression")

// Expr is a parsed cron expression. The zero Expr matches nothing.
type Expr struct {
	second, minute, hour, dom, month, dow uint64
	domAny, dowAny                        bool
	src                                   string
}

// String is the expression as it was parsed.
func (e *Expr) String() string { return e.src }

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	fSecond = field{name: "second", min: 0, max: 59}
	fMinute = field{name: "minute", min: 0, max: 59}
	fHour   = field{name: "hour", min: 0, max: 23}
	fDom    = field{name: "day of month", min: 1, max: 31}
	fMonth  = field{name: "month", min: 1, max: 12, names: map[string]int{
		"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
		"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}}
	// Day of week accepts 7 for Sunday; it is folded onto 0 after parsing.
	fDow = field{name: "day of week", min: 0, max: 7, names: map[string]int{
		"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}}
)

var descriptors = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

// Parse parses a 5- or 6-field expression or a descriptor.
func Parse(s string) (*Expr, error) {
	src := strings.TrimSpace(s)
	expanded := src
	if d, ok := descriptors[strings.ToLower(src)]; ok {
		expanded = d
	} else if strings.HasPrefix(src, "@") {
		return nil, fmt.Errorf("%w: unknown descriptor %q", ErrInvalid, src)
	}
	fields := strings.Fields(expanded)
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
	default:
		return nil, fmt.Errorf("%w: %q has %d fields, want 5 (minute hour day month weekday) or 6 (second first)", ErrInvalid, src, len(fields))
	}
	e := &Expr{src: src}
	var err error
	parts := []struct {
		dst *uint64
		f   field
	}{{&e.second, fSecond}, {&e.minute, fMinute}, {&e.hour, fHour}, {&e.dom, fDom}, {&e.month, fMonth}, {&e.dow, fDow}}
	for i, p := range parts {
		if *p.dst, err = parseField(fields[i], p.f); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalid, src, err)
		}
	}
	if e.dow&(1<<7) != 0 {
		e.dow = e.dow&^(1<<7) | 1
	}
	e.domAny = fields[3] == "*" || fields[3] == "?"
	e.dowAny = fields[5] == "*" || fields[5] == "?"
	return e, nil
}

// parseField turns one field into a bit set of the values it allows.
func parseField(s string, f field) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			return 0, fmt.Errorf("%s field %q has an empty list item", f.name, s)
		}
		rng, stepStr, hasStep := strings.Cut(part, "/")
		lo, hi := f.min, f.max
		switch {
		case rng == "*" || rng == "?":
			if rng == "?" && f.name != fDom.name && f.name != fDow.name {
				return 0, fmt.Errorf("%s field: '?' is only for the day fields", f.name)
			}
			if f.name == fDow.name {
				hi = 6 // "*" is every day once, not Sunday twice
			}
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, f); err != nil {
				return 0, err
			}
			hi = lo
			if isRange {
				if hi, err = value(b, f); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("%s field: range %q runs backwards", f.name, rng)
				}
			} else if hasStep {
				hi = f.max // "a/n": from a to the end
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%s field: step %q is not a positive number", f.name, stepStr)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func value(s string, f field) (int, error) {
	if n, ok := f.names[strings.ToUpper(s)]; ok {
		return n, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s field: %q is not a number", f.name, s)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%s field: %d is outside %d-%d", f.name, v, f.min, f.max)
	}
	return v, nil
}

// HasSeconds reports whether the expression fires on other seconds than
// the minute's first.
func (e *Expr) HasSeconds() bool { return e.second != 1 }

func (e *Expr) dayMatches(t time.Time) bool {
	dom := e.dom&(1<<uint(t.Day())) != 0
	dow := e.dow&(1<<uint(t.Weekday())) != 0
	if e.domAny || e.dowAny {
		return dom && dow
	}
	return dom || dow
}

// searchDays bounds the search for a next time: any valid combination of
// month, day and weekday recurs within 28 years (the Gregorian weekday
// cycle for leap days).
const searchDays = 28 * 366

// Next returns the first time strictly after t that the expression names on
// the wall clock of loc (UTC if nil), or the zero time if there is none
// (say, February 30).
func (e *Expr) Next(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if e.month == 0 || e.dom == 0 || e.dow == 0 || e.hour == 0 || e.minute == 0 || e.second == 0 {
		return time.Time{}
	}
	local := t.In(loc)
	// The first wall-clock second to consider on the first day.
	y, m, d := local.Date()
	first := true
	h0, mi0, s0 := local.Hour(), local.Minute(), local.Second()+1
	for i := 0; i < searchDays; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		if e.month&(1<<uint(day.Month())) == 0 || !e.dayMatches(day) {
			first = false
			continue
		}
		dy, dm, dd := day.Date()
		hStart := 0
		if first {
			hStart = h0
		}
		for h := nextBit(e.hour, hStart); h >= 0; h = nextBit(e.hour, h+1) {
			mStart := 0
			if first && h == h0 {
				mStart = mi0
			}
			for mi := nextBit(e.minute, mStart); mi >= 0; mi = nextBit(e.minute, mi+1) {
				sStart := 0
				if first && h == h0 && mi == mi0 {
					sStart = s0
				}
				for s := nextBit(e.second, sStart); s >= 0; s = nextBit(e.second, s+1) {
					c := time.Date(dy, dm, dd, h, mi, s, 0, loc)
					if c.Hour() != h || c.Minute() != mi || c.Day() != dd {
						continue // inside a clock change's gap: this wall time does not exist
					}
					// A wall time repeated when the clocks go back: time.Date
					// may give the second occurrence; the first is the fire,
					// and the second is skipped.
					if earlier := c.Add(-time.Hour); earlier.Hour() == h && earlier.Minute() == mi && earlier.Day() == dd {
						if earlier.After(t) {
							return earlier
						}
						continue
					}
					if c.After(t) {
						return c
					}
				}
			}
		}
		first = false
	}
	return time.Time{}
}

// nextBit is the lowest set bit of set at or above from, or -1.
func nextBit(set uint64, from int) int {
	if from > 63 {
		return -1
	}
	rest := set >> uint(from)
	if rest == 0 {
		return -1
	}
	return from + bits.TrailingZeros64(rest)
}
