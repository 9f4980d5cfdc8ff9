package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

// issueKinds are the commands a workflow can cancel through a context,
// each issued by issue under ctx; the future's error is what the command
// came to.
var issueKinds = []struct {
	name   string
	kind   history.Kind // the command's event
	cancel history.Kind // the event of its cancel in a later task; 0: none (a sent signal)
	issue  func(ctx workflow.Context) func(workflow.Context) error
}{
	{"timer", history.TimerScheduled, history.TimerCanceled, func(ctx workflow.Context) func(workflow.Context) error {
		f := workflow.ScheduleTimer(ctx, time.Hour)
		return func(ctx workflow.Context) error { _, err := f.Get(ctx); return err }
	}},
	{"activity", history.ActivityScheduled, history.ActivityCancelRequested, func(ctx workflow.Context) func(workflow.Context) error {
		f := workflow.ExecuteActivity[string](ctx, opts, Charge, 1)
		return func(ctx workflow.Context) error { _, err := f.Get(ctx); return err }
	}},
	{"activity waiting for its cancel", history.ActivityScheduled, history.ActivityCancelRequested, func(ctx workflow.Context) func(workflow.Context) error {
		o := opts
		o.WaitForCancellation = true
		f := workflow.ExecuteActivity[string](ctx, o, Charge, 1)
		return func(ctx workflow.Context) error { _, err := f.Get(ctx); return err }
	}},
	{"child", history.SubWorkflowScheduled, history.SubWorkflowCancelRequested, func(ctx workflow.Context) func(workflow.Context) error {
		f := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: "child-1"}, "Child")
		return func(ctx workflow.Context) error { _, err := f.Get(ctx); return err }
	}},
	{"signal to another instance", history.SignalWorkflowScheduled, 0, func(ctx workflow.Context) func(workflow.Context) error {
		f := workflow.SignalWorkflow(ctx, "other", "s", 1)
		return func(ctx workflow.Context) error { _, err := f.Get(ctx); return err }
	}},
}

// A command canceled in the task that issued it is never recorded (so never
// sent or started), whether the cancel comes in the same reaction or in a
// later event of the same batch; its ID stays taken, so a timer issued
// after it gets the same ID on replay. Canceled in a later task, it is
// recorded, then canceled, as before.
func TestCommandCanceledInItsTaskIsDropped(t *testing.T) {
	for _, k := range issueKinds {
		t.Run(k.name, func(t *testing.T) {
			wf := func(ctx workflow.Context) (string, error) {
				cctx, cancel := workflow.WithCancel(ctx)
				get := k.issue(cctx)
				after := workflow.ScheduleTimer(ctx, time.Minute) // issued after the dropped command
				how, _ := workflow.NewSignalChannel[string](ctx, "how").Receive(ctx)
				if how == "cancel now" {
					cancel()
					return "canceled: " + errString(get(ctx)), nil
				}
				workflow.NewSignalChannel[struct{}](ctx, "cancel").Receive(ctx)
				cancel()
				_, err := after.Get(ctx)
				return errString(err), nil
			}

			t.Run("same reaction", func(t *testing.T) {
				r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": func(ctx workflow.Context) (string, error) {
					cctx, cancel := workflow.WithCancel(ctx)
					get := k.issue(cctx)
					cancel()
					err := get(ctx)
					_, terr := workflow.ScheduleTimer(ctx, time.Minute).Get(ctx)
					return errString(err) + " " + errString(terr), nil
				}})
				out := r.Do(r.Started("wf"))
				assert.Equal(t, []history.Kind{history.WorkflowStarted, history.TimerScheduled}, enginetest.Kinds(out))
				assert.Equal(t, int64(3), out[1].ID, "the dropped command keeps its ID")
				r.Do(r.TimerFired(3))
				assert.Equal(t, "canceled ok", enginetest.Result[string](r))
				r.ReplayCheck()
			})

			t.Run("later event of the same batch", func(t *testing.T) {
				r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
				out := r.Do(r.Started("wf"), r.Signal("how", "cancel now"))
				assert.Equal(t, []history.Kind{history.WorkflowStarted, history.TimerScheduled, history.SignalReceived,
					history.WorkflowCompleted}, enginetest.Kinds(out))
				assert.Equal(t, []int64{1, 3, 4, 5}, ids(out))
				assert.Equal(t, "canceled: canceled", enginetest.Result[string](r))
				r.ReplayCheck()
			})

			t.Run("later task", func(t *testing.T) {
				r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
				out := r.Do(r.Started("wf"))
				assert.Equal(t, []history.Kind{history.WorkflowStarted, k.kind, history.TimerScheduled}, enginetest.Kinds(out))
				r.Do(r.Signal("how", "later"))
				out = r.Do(r.Signal("cancel", struct{}{}))
				want := []history.Kind{history.SignalReceived}
				if k.cancel != 0 {
					want = append(want, k.cancel)
				}
				assert.Equal(t, want, enginetest.Kinds(out))
				r.Do(r.TimerFired(3))
				assert.Equal(t, "ok", enginetest.Result[string](r))
				r.ReplayCheck()
			})
		})
	}
}

func ids(events []history.Event) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.ID
	}
	return out
}

// Histories written before commands canceled in their task were dropped
// hold the command and its cancel in one commit: they replay as they are.
func TestOldHistoryWithCanceledPairReplays(t *testing.T) {
	for _, k := range issueKinds {
		if k.cancel == 0 {
			continue // a signal was never canceled: its old history is a plain send
		}
		t.Run(k.name, func(t *testing.T) {
			wf := func(ctx workflow.Context) (string, error) {
				cctx, cancel := workflow.WithCancel(ctx)
				get := k.issue(cctx)
				cancel()
				return errString(get(ctx)), nil
			}
			r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
			r.Do(r.Started("wf"))
			now := r.History()
			require.Len(t, now, 2, "started, completed: the command is dropped")

			// The same run as the old executor recorded it.
			started, completed := now[0], now[1]
			cmd := history.Event{Kind: k.kind, ID: 2, Time: started.Time}
			cancel := history.Event{Kind: k.cancel, ID: 3, ScheduleID: 2, Time: started.Time}
			switch k.kind {
			case history.TimerScheduled:
				cmd.FireAt = started.Time.Add(time.Hour)
			case history.ActivityScheduled:
				cmd.Name, cmd.Queue, cmd.Args = "Charge", "default", [][]byte{r.Encode(1)}
				cancel.Name = "Charge"
			case history.SubWorkflowScheduled:
				cmd.Name, cmd.Queue, cmd.InstanceID = "Child", "default", "child-1"
				cancel.Name, cancel.InstanceID = "Child", "child-1"
			}
			completed.ID = 4
			if k.name == "activity waiting for its cancel" {
				// The old executor waited for the activity's answer.
				answer := history.Event{Kind: history.ActivityFailed, ID: 4, ScheduleID: 2, Time: started.Time,
					InboxID: "act:2", Failure: engine.FailureFromError(workflow.Canceled)}
				completed.ID = 5
				ex := r.NewExecutor()
				defer ex.Close()
				require.NoError(t, ex.Replay([]history.Event{started, cmd, cancel, answer, completed}))
				return
			}
			ex := r.NewExecutor()
			defer ex.Close()
			require.NoError(t, ex.Replay([]history.Event{started, cmd, cancel, completed}))
		})
	}
}

// A command replayed where the history has a hole must be canceled again
// before the replay ends: code that no longer cancels it, or that records
// something else there, is not deterministic.
func TestHoleMustBeCanceledAgain(t *testing.T) {
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": func(ctx workflow.Context) error {
		cctx, cancel := workflow.WithCancel(ctx)
		workflow.ScheduleTimer(cctx, time.Hour)
		cancel()
		workflow.NewSignalChannel[int](ctx, "s").Receive(ctx)
		return nil
	}})
	r.Do(r.Started("wf"))
	assert.Equal(t, int64(1), r.Ex.HistoryLength()-1, "the dropped timer's ID is taken")

	err := r.ReplayWith(engine.Workflows{"wf": func(ctx workflow.Context) error {
		workflow.ScheduleTimer(ctx, time.Hour) // no longer canceled
		workflow.NewSignalChannel[int](ctx, "s").Receive(ctx)
		return nil
	}})
	require.ErrorIs(t, err, engine.ErrNondeterministic)
	assert.Contains(t, err.Error(), "at event 2 the history has no event but the workflow code issued TimerScheduled")
	assert.Contains(t, err.Error(), "did not cancel in the same task")

	err = r.ReplayWith(engine.Workflows{"wf": func(ctx workflow.Context) error {
		_, _ = workflow.SideEffect[int](ctx, func(workflow.Context) int { return 1 }).Get(ctx)
		workflow.NewSignalChannel[int](ctx, "s").Receive(ctx)
		return nil
	}})
	require.ErrorIs(t, err, engine.ErrNondeterministic)
	assert.Contains(t, err.Error(), "issued SideEffectRecorded")
}
