package engine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

var opts = workflow.DefaultActivityOptions

// payV1 is the code that wrote the history:
//
//	1 WorkflowStarted, 2 ActivityScheduled Charge, 3 ActivityCompleted,
//	4 TimerScheduled, 5 TimerFired, 6 ActivityScheduled Ship,
//	7 ActivityCompleted, 8 WorkflowCompleted
func payV1(ctx workflow.Context) (string, error) {
	r, err := workflow.ExecuteActivity[string](ctx, opts, Charge, 10).Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.Sleep(ctx, time.Minute)
	_, err = workflow.ExecuteActivity[struct{}](ctx, opts, Ship, r).Get(ctx)
	return "done", err
}

func runPayV1(t *testing.T) *enginetest.Run {
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"pay": payV1})
	r.Do(r.Started("pay"))
	r.Do(r.ActivityCompleted(2, "rc"))
	r.Advance(time.Minute)
	r.Do(r.TimerFired(4))
	r.Do(r.ActivityCompleted(6, nil))
	require.Equal(t, "done", enginetest.Result[string](r))
	return r
}

func TestNondeterminismIsDetectedAndNamed(t *testing.T) {
	tests := []struct {
		name    string
		changed func(ctx workflow.Context) (string, error)
		want    engine.NondeterminismError
		text    string
	}{
		{
			name: "another activity",
			changed: func(ctx workflow.Context) (string, error) {
				workflow.ExecuteActivity[string](ctx, opts, Refund, "x").Get(ctx)
				return "", nil
			},
			want: engine.NondeterminismError{EventID: 2, Expected: history.ActivityScheduled, ExpectedName: "Charge",
				Actual: history.ActivityScheduled, ActualName: "Refund"},
			text: `workflow "pay" is not deterministic: at event 2 the history has ActivityScheduled "Charge" but the workflow code issued ActivityScheduled "Refund"`,
		},
		{
			name: "a timer where the history has an activity",
			changed: func(ctx workflow.Context) (string, error) {
				workflow.Sleep(ctx, time.Minute)
				return "", nil
			},
			want: engine.NondeterminismError{EventID: 2, Expected: history.ActivityScheduled, ExpectedName: "Charge",
				Actual: history.TimerScheduled},
			text: `workflow "pay" is not deterministic: at event 2 the history has ActivityScheduled "Charge" but the workflow code issued TimerScheduled`,
		},
		{
			name: "a removed timer",
			changed: func(ctx workflow.Context) (string, error) {
				r, _ := workflow.ExecuteActivity[string](ctx, opts, Charge, 10).Get(ctx)
				workflow.ExecuteActivity[struct{}](ctx, opts, Ship, r).Get(ctx)
				return "done", nil
			},
			want: engine.NondeterminismError{EventID: 4, Expected: history.TimerScheduled,
				Actual: history.ActivityScheduled, ActualName: "Ship"},
			text: `workflow "pay" is not deterministic: at event 4 the history has TimerScheduled but the workflow code issued ActivityScheduled "Ship"`,
		},
		{
			name: "the code waits for something else",
			changed: func(ctx workflow.Context) (string, error) {
				workflow.ExecuteActivity[string](ctx, opts, Charge, 10).Get(ctx)
				workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
				return "done", nil
			},
			want: engine.NondeterminismError{EventID: 4, Expected: history.TimerScheduled},
			text: `workflow "pay" is not deterministic: at event 4 the history has TimerScheduled but the workflow code issued nothing there`,
		},
		{
			name: "an extra command where the history has an inbound event",
			changed: func(ctx workflow.Context) (string, error) {
				workflow.ExecuteActivity[string](ctx, opts, Charge, 10)
				workflow.ExecuteActivity[string](ctx, opts, Charge, 20)
				return "done", nil
			},
			want: engine.NondeterminismError{EventID: 3, Expected: history.ActivityCompleted,
				Actual: history.ActivityScheduled, ActualName: "Charge"},
			text: `workflow "pay" is not deterministic: at event 3 the history has ActivityCompleted but the workflow code issued ActivityScheduled "Charge"`,
		},
		{
			name: "an extra command at the end",
			changed: func(ctx workflow.Context) (string, error) {
				payV1(ctx)
				workflow.ExecuteActivity[struct{}](ctx, opts, Refund, "x")
				return "done", nil
			},
			want: engine.NondeterminismError{EventID: 8, Expected: history.WorkflowCompleted,
				Actual: history.ActivityScheduled, ActualName: "Refund"},
			text: `workflow "pay" is not deterministic: at event 8 the history has WorkflowCompleted but the workflow code issued ActivityScheduled "Refund"`,
		},
		{
			name: "another outcome",
			changed: func(ctx workflow.Context) (string, error) {
				payV1(ctx)
				return "", errors.New("now it fails")
			},
			want: engine.NondeterminismError{EventID: 8, Expected: history.WorkflowCompleted, Actual: history.WorkflowFailed},
			text: `workflow "pay" is not deterministic: at event 8 the history has WorkflowCompleted but the workflow code issued WorkflowFailed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPayV1(t)
			require.NoError(t, r.ReplayWith(engine.Workflows{"pay": payV1}), "the unchanged code replays")
			err := r.ReplayWith(engine.Workflows{"pay": tt.changed})
			require.Error(t, err)
			assert.True(t, errors.Is(err, engine.ErrNondeterministic))
			var nd *engine.NondeterminismError
			require.True(t, errors.As(err, &nd))
			tt.want.WorkflowName = "pay"
			assert.Equal(t, tt.want, *nd)
			assert.Equal(t, tt.text, err.Error())
		})
	}
}

func TestNondeterminismLeavesTheExecutorUnusable(t *testing.T) {
	r := runPayV1(t)
	opts := r.Opts
	opts.Registry = engine.Workflows{"pay": func(ctx workflow.Context) (string, error) {
		workflow.Sleep(ctx, time.Minute)
		return "", nil
	}}
	ex, err := engine.NewExecutor(opts)
	require.NoError(t, err)
	defer ex.Close()
	err = ex.Replay(r.History())
	require.ErrorIs(t, err, engine.ErrNondeterministic)
	_, err2 := ex.Execute([]history.Event{r.Signal("s", 1)})
	assert.Same(t, err, err2)
	assert.Same(t, err, ex.Err())
}

func TestRecordedVersionOutsideTheSupportedRange(t *testing.T) {
	v1 := func(ctx workflow.Context) (int, error) {
		return workflow.GetVersion(ctx, "change", workflow.DefaultVersion, 1), nil
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": v1})
	r.Do(r.Started("wf"))
	require.Equal(t, 1, enginetest.Result[int](r))
	err := r.ReplayWith(engine.Workflows{"wf": func(ctx workflow.Context) (int, error) {
		return workflow.GetVersion(ctx, "change", 2, 3), nil
	}})
	assert.EqualError(t, err, `workflow "wf" is not deterministic: at event 2 the history has VersionMarker "change" `+
		`but the workflow code issued VersionMarker "change" (the history records version 1 of change "change", but the code supports only versions 2 to 3)`)
}

func TestCanceledCommandMustCancelTheSameEvent(t *testing.T) {
	wf := func(first bool) func(ctx workflow.Context) error {
		return func(ctx workflow.Context) error {
			c1, cancel1 := workflow.WithCancel(ctx)
			c2, cancel2 := workflow.WithCancel(ctx)
			workflow.ScheduleTimer(c1, time.Second)
			workflow.ScheduleTimer(c2, time.Second)
			// Canceled in a later task: a command canceled in the task
			// that issued it leaves no event to check.
			workflow.NewSignalChannel[int](ctx, "go").Receive(ctx)
			if first {
				cancel1()
			} else {
				cancel2()
			}
			cancel1()
			cancel2()
			return nil
		}
	}
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf(true)})
	r.Do(r.Started("wf"))
	r.Do(r.Signal("go", 1))
	err := r.ReplayWith(engine.Workflows{"wf": wf(false)})
	assert.EqualError(t, err, `workflow "wf" is not deterministic: at event 5 the history has TimerCanceled `+
		`but the workflow code issued TimerCanceled (in the history it refers to event 2, in the code to event 3)`)
}
