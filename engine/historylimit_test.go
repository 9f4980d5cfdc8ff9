package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// Counter records a side effect per signal it receives, forever: its
// history grows by two events a signal.
func Counter(ctx workflow.Context) error {
	ch := workflow.NewSignalChannel[int](ctx, "add")
	for {
		n, _ := ch.Receive(ctx)
		if _, err := workflow.SideEffect(ctx, func(workflow.Context) int { return n }).Get(ctx); err != nil {
			return err
		}
	}
}

func TestHistoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		limit   int64
		signals int
		fails   bool
	}{
		{"under the limit", 10, 4, false}, // 1 + 4*2 = 9 events
		{"at the limit", 9, 4, false},     // 9 events is allowed
		{"over the limit", 8, 4, true},    // 9 > 8
		{"no limit", -1, 100, false},      // 201 events
		{"default limit is large", 0, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.New(t, engine.Options{MaxHistoryLength: tt.limit}, engine.Workflows{"Counter": Counter})
			r.Do(r.Started("Counter"))
			for i := range tt.signals {
				r.Do(r.Signal("add", i))
			}
			final, finished := r.Ex.Final()
			require.Equal(t, tt.fails, finished, "finished")
			if !tt.fails {
				return
			}
			require.Equal(t, history.WorkflowFailed, final.Kind)
			require.NotNil(t, final.Failure)
			assert.Equal(t, workflow.ErrTypeHistoryLimit, final.Failure.Type)
			assert.True(t, final.Failure.NonRetryable)
			assert.Contains(t, final.Failure.Message, "limit of 8")
			assert.True(t, strings.Contains(final.Failure.Message, "workflow.ContinueAsNew"), final.Failure.Message)

			// A replay accepts the failure the executor recorded, even
			// with a limit raised since.
			r.ReplayCheck()
			r.Opts.MaxHistoryLength = 1000
			r.ReplayCheck()
		})
	}
}

// A run the worker failed because its task's commit was too large replays
// to that failure: the code that would have gone on never gets to.
func TestReplayEndsAtAPayloadTooLargeFailure(t *testing.T) {
	wf := func(ctx workflow.Context) (string, error) {
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return "", err
		}
		return strings.Repeat("x", 1<<20), nil // too large to store
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
	first := r.Do(r.Started("wf"))
	stored := append([]history.Event(nil), first...)
	// The task with the timer produced a commit the server refused; the
	// worker stored this instead.
	stored = append(stored, history.Event{Kind: history.WorkflowFailed, ID: int64(len(first)) + 1,
		Failure: &history.Failure{Type: workflow.ErrTypePayloadTooLarge, Message: "too large", NonRetryable: true}})

	ex := r.NewExecutor()
	defer ex.Close()
	require.NoError(t, ex.Replay(stored))
	final, ok := ex.Final()
	require.True(t, ok)
	assert.Equal(t, history.WorkflowFailed, final.Kind)
	assert.Equal(t, workflow.ErrTypePayloadTooLarge, final.Failure.Type)
	_, err := ex.Execute([]history.Event{r.Signal("s", 1)})
	assert.ErrorIs(t, err, engine.ErrRunFinished)
}
