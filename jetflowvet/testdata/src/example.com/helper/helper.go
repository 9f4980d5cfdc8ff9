// Package helper reads the clock three calls down.
package helper

import (
	"time"

	"example.com/deep"
)

// F reaches time.Now through g and deep.H.
func F() time.Time { return g() } // want F:`nondeterministic\(helper.g → deep.H → time.Now\)`

func g() time.Time { return deep.H() } // want g:`nondeterministic\(deep.H → time.Now\)`

// Pure is deterministic.
func Pure(a, b int) int { return a + b }

// Clock is a concrete type whose method reads the clock.
type Clock struct{}

// Read reads the clock.
func (Clock) Read() time.Time { return time.Now() } // want Read:`nondeterministic\(time.Now\)`

// Reader reads the clock through an interface: not followed.
type Reader interface{ Read() time.Time }

// Stamp is non-deterministic only through a directive-silenced call.
func Stamp() time.Time {
	return time.Now() //jetflowvet:ignore the caller only logs it
}

// Recurse calls itself and then the clock.
func Recurse(n int) time.Time { // want Recurse:`nondeterministic\(time.Now\)`
	if n > 0 {
		return Recurse(n - 1)
	}
	return time.Now()
}
