package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// TestBlockedCodeReturningToTheAPIDoesNotTouchTheRun checks that workflow
// code reported blocked, which keeps running on its goroutine, cannot reach
// the run's state when it comes back to the workflow API: the executor has
// moved on (it failed with the BlockedError and may be closed), so any
// access would race with it. Run under -race, each case is a data race
// without the scheduler's gate.
func TestBlockedCodeReturningToTheAPIDoesNotTouchTheRun(t *testing.T) {
	tests := []struct {
		name string
		use  func(ctx workflow.Context)
		// parks: the code waits in the workflow API, where it stays
		// until the executor is closed.
		parks bool
	}{
		{"schedules an activity", func(ctx workflow.Context) { workflow.ExecuteActivity[int](ctx, opts, "A") }, false},
		{"schedules a timer", func(ctx workflow.Context) { workflow.ScheduleTimer(ctx, time.Minute) }, false},
		{"starts a coroutine", func(ctx workflow.Context) { workflow.Go(ctx, func(workflow.Context) {}) }, false},
		{"records a side effect", func(ctx workflow.Context) {
			workflow.SideEffect(ctx, func(workflow.Context) int { return 1 })
		}, false},
		{"asks for a version", func(ctx workflow.Context) { workflow.GetVersion(ctx, "change", workflow.DefaultVersion, 1) }, false},
		{"reads the time and info, logs", func(ctx workflow.Context) {
			_ = workflow.Now(ctx)
			_ = workflow.GetInfo(ctx)
			workflow.Logger(ctx).Info("back")
		}, false},
		{"waits on a future", func(ctx workflow.Context) {
			workflow.ExecuteActivity[int](ctx, opts, "A").Get(ctx)
		}, true},
		{"waits on a signal", func(ctx workflow.Context) {
			workflow.NewSignalChannel[int](ctx, "s").Receive(ctx)
		}, true},
	}
	const blockedTimeout = 200 * time.Millisecond
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitFor(t, func() bool { return coroutineGoroutines() == 0 })
			back := make(chan struct{})
			ended := make(chan struct{})
			wf := func(ctx workflow.Context) error {
				workflow.Sleep(ctx, time.Second)
				// Blocked for real, and woken by nothing the executor
				// does: the race detector sees no order between what
				// the code does next and what the executor did since.
				time.Sleep(6 * blockedTimeout) //jetflowvet:ignore blocking the coroutine for real is what this test checks
				defer close(ended)
				if tt.parks {
					close(back) // it is about to go in
				} else {
					defer close(back)
				}
				tt.use(ctx)
				return nil
			}
			r := enginetest.New(t, engine.Options{BlockedTimeout: blockedTimeout}, engine.Workflows{"wf": wf})
			timer := r.Do(r.Started("wf"))[1]
			_, err := r.Execute(r.TimerFired(timer.ID))
			var be *engine.BlockedError
			require.ErrorAs(t, err, &be)

			// The workflow code comes back while the dropped executor
			// is still around, then the worker closes it.
			waitClosed(t, back, "the blocked workflow code did not come back from the workflow API")
			_, err2 := r.Ex.Execute(nil)
			assert.Same(t, err, err2, "the executor stays failed with the BlockedError")
			assert.Equal(t, int64(3), r.Ex.HistoryLength(), "nothing recorded after the block")
			r.Ex.Close()
			waitClosed(t, ended, "the blocked workflow code did not end once the executor was closed")
			waitFor(t, func() bool { return coroutineGoroutines() == 0 })
		})
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}
