// Package rounds runs a test's rounds in parallel over several clients and
// counts those that saw something go wrong: the read-after-write tests of
// streams and client use it. It imports nothing of jetflow, so any
// package's tests can.
package rounds

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Count runs round(c, name) n times for each client c, parallel rounds at
// a time per client, and returns how many rounds reported true. Each round
// gets a name of its own: "<prefix><client index>-<round index>". The
// first error of a round stops its goroutine; all errors are joined.
func Count[C any](clients []C, parallel, n int, prefix string, round func(c C, name string) (bool, error)) (int, error) {
	var hits atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(clients)*parallel)
	for k, c := range clients {
		var next atomic.Int64
		for range parallel {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					hit, err := round(c, fmt.Sprintf("%s%d-%d", prefix, k, i))
					if err != nil {
						errs <- err
						return
					}
					if hit {
						hits.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return int(hits.Load()), errors.Join(all...)
}
