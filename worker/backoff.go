package worker

import (
	"time"
)

// backoff is the delay before retry number n (1 for the first retry) of a
// failed workflow task: first, doubled each time, at most a minute.
func backoff(first time.Duration, n uint64) time.Duration {
	d := first
	for i := uint64(1); i < n && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}
