package cron

import (
	"errors"
	"testing"
	"time"
)

func mustTime(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expr string
		loc        *time.Location
		after      string
		want       []string // successive next times, in loc
	}{
		{"every minute", "* * * * *", time.UTC, "2026-01-01 10:00:30", []string{"2026-01-01 10:01:00", "2026-01-01 10:02:00"}},
		{"exact minute is excluded", "* * * * *", time.UTC, "2026-01-01 10:00:00", []string{"2026-01-01 10:01:00"}},
		{"six fields every second", "* * * * * *", time.UTC, "2026-01-01 10:00:59", []string{"2026-01-01 10:01:00", "2026-01-01 10:01:01"}},
		{"six fields step seconds", "*/15 * * * * *", time.UTC, "2026-01-01 10:00:16", []string{"2026-01-01 10:00:30", "2026-01-01 10:00:45", "2026-01-01 10:01:00"}},
		{"range", "0 9-11 * * *", time.UTC, "2026-01-01 10:30:00", []string{"2026-01-01 11:00:00", "2026-01-02 09:00:00"}},
		{"range with step", "0 8-18/5 * * *", time.UTC, "2026-01-01 00:00:00", []string{"2026-01-01 08:00:00", "2026-01-01 13:00:00", "2026-01-01 18:00:00", "2026-01-02 08:00:00"}},
		{"start with step", "10/20 * * * *", time.UTC, "2026-01-01 00:00:00", []string{"2026-01-01 00:10:00", "2026-01-01 00:30:00", "2026-01-01 00:50:00", "2026-01-01 01:10:00"}},
		{"list", "5,35 1 * * *", time.UTC, "2026-01-01 01:10:00", []string{"2026-01-01 01:35:00", "2026-01-02 01:05:00"}},
		{"month names", "0 0 1 jan,JUL *", time.UTC, "2026-02-01 00:00:00", []string{"2026-07-01 00:00:00", "2027-01-01 00:00:00"}},
		{"weekday names", "0 12 * * MON-FRI", time.UTC, "2026-01-02 13:00:00", []string{"2026-01-05 12:00:00", "2026-01-06 12:00:00"}}, // 2 Jan 2026 is a Friday
		{"sunday as 7", "0 0 * * 7", time.UTC, "2026-01-01 00:00:00", []string{"2026-01-04 00:00:00"}},
		{"sunday as 0", "0 0 * * 0", time.UTC, "2026-01-01 00:00:00", []string{"2026-01-04 00:00:00"}},
		{"day of month or weekday", "0 0 13 * FRI", time.UTC, "2026-02-01 00:00:00", []string{"2026-02-06 00:00:00", "2026-02-13 00:00:00", "2026-02-20 00:00:00"}},
		{"question mark", "0 0 ? * MON", time.UTC, "2026-01-01 00:00:00", []string{"2026-01-05 00:00:00"}},
		{"leap day", "0 0 29 2 *", time.UTC, "2026-01-01 00:00:00", []string{"2028-02-29 00:00:00", "2032-02-29 00:00:00"}},
		{"descriptor", "@daily", time.UTC, "2026-01-01 10:00:00", []string{"2026-01-02 00:00:00"}},
		{"descriptor hourly", "@hourly", time.UTC, "2026-01-01 10:00:00", []string{"2026-01-01 11:00:00"}},
		{"time zone", "0 2 * * *", berlin, "2026-01-10 00:00:00", []string{"2026-01-10 02:00:00"}},
		// Berlin springs forward on 29 March 2026: 02:00 becomes 03:00.
		{"spring gap is skipped", "30 2 * * *", berlin, "2026-03-28 03:00:00", []string{"2026-03-30 02:30:00"}},
		{"hourly across spring gap", "0 * * * *", berlin, "2026-03-29 01:30:00", []string{"2026-03-29 03:00:00", "2026-03-29 04:00:00"}},
		{"new york spring", "0 2 * * *", ny, "2026-03-07 12:00:00", []string{"2026-03-09 02:00:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := mustTime(t, tt.loc, tt.after)
			for _, w := range tt.want {
				got := e.Next(at, tt.loc)
				want := mustTime(t, tt.loc, w)
				if !got.Equal(want) {
					t.Fatalf("Next(%s) = %s, want %s", at.In(tt.loc), got.In(tt.loc), want)
				}
				at = got
			}
		})
	}
}

func TestNextRepeatedHourIsFirstOccurrence(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse("30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	got := e.Next(time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC), berlin)
	// 02:30 CEST (UTC+2) is 00:30 UTC; the second 02:30 (CET) would be 01:30 UTC.
	// Berlin falls back on 25 October 2026: 03:00 CEST becomes 02:00 CET.
	if want := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("got %s, want %s", got.UTC(), want)
	}
	// The repeated 02:30 does not fire again: the next is the next day's.
	for _, after := range []time.Time{got, time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)} {
		if next, want := e.Next(after, berlin), time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC); !next.Equal(want) {
			t.Fatalf("after %s: got %s, want %s", after, next.UTC(), want)
		}
	}
}

func TestNextNever(t *testing.T) {
	e, err := Parse("0 0 30 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil); !got.IsZero() {
		t.Fatalf("February 30 fired at %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *",
		"* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "*/x * * * *", "a * * * *",
		"1,,2 * * * *", "? * * * *", "* * * FOO *", "@sometimes",
	} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}
