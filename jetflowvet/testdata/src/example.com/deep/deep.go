// Package deep is the bottom of the call chain.
package deep

import "time"

// H reads the clock.
func H() time.Time { return time.Now() } // want H:`nondeterministic\(time.Now\)`
