package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A failed fetch is tried again at most every TaskRetryDelay, counted from
// when the fetch began: a fetch that already spent that long (it retried
// while its consumer elected a leader) is tried again without a further
// sleep, and one that failed at once waits the rest.
func TestSleepRest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		began time.Duration // before now
		d     time.Duration
	}{
		{"fetch took longer than the delay", time.Hour, time.Minute},
		{"fetch took as long as the delay", time.Minute, time.Minute},
		{"rest of a short delay", 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				sleepRest(context.Background(), time.Now().Add(-tc.began), tc.d)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("sleepRest slept the whole delay again after the fetch had taken it")
			}
		})
	}
	// The rest is slept: a fetch that failed at once does not spin.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sleepRest(ctx, time.Now(), time.Hour)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("sleepRest returned before the delay or its context ended")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	<-done
	require.Error(t, ctx.Err())
}
