package engine_test

import (
	"context"
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

func Charge(ctx context.Context, amount int) (string, error) { return "receipt", nil }
func Ship(ctx context.Context, receipt string) error         { return nil }
func Refund(ctx context.Context, receipt string) error       { return nil }

type Order struct {
	ID     string
	Amount int
}

// OrderWorkflow uses most of the workflow API, for the determinism tests.
func OrderWorkflow(ctx workflow.Context, o Order) (string, error) {
	status := "started"
	if err := workflow.SetQueryHandler(ctx, "status", func() (string, error) { return status, nil }); err != nil {
		return "", err
	}
	id, err := workflow.SideEffect(ctx, func(workflow.Context) string { return "tx-" + o.ID }).Get(ctx)
	if err != nil {
		return "", err
	}
	receipt, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Charge, o.Amount).Get(ctx)
	if err != nil {
		return "", err
	}
	status = "charged"
	approvals := workflow.NewSignalChannel[string](ctx, "approve")
	var approver string
	workflow.Select(ctx,
		workflow.Receive(approvals, func(_ workflow.Context, by string, _ bool) { approver = by }),
		workflow.Await(workflow.ScheduleTimer(ctx, time.Hour), func(workflow.Context, workflow.Future[struct{}]) { approver = "timeout" }),
	)
	if approver == "timeout" {
		dctx := workflow.NewDisconnectedContext(ctx)
		_, err := workflow.ExecuteActivity[struct{}](dctx, workflow.DefaultActivityOptions, Refund, receipt).Get(ctx)
		return "refunded", err
	}
	wg := workflow.NewWaitGroup(ctx)
	results := workflow.NewBufferedChannel[string](ctx, 2)
	for _, part := range []string{"a", "b"} {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Ship, receipt+part).Get(ctx)
			results.Send(ctx, part+":"+errString(err))
		})
	}
	wg.Wait(ctx)
	if v := workflow.GetVersion(ctx, "notify", workflow.DefaultVersion, 1); v == 1 {
		workflow.SignalWorkflow(ctx, "notifier", "shipped", o.ID)
	}
	status = "shipped"
	r1, _ := results.Receive(ctx)
	r2, _ := results.Receive(ctx)
	return id + " " + approver + " " + r1 + " " + r2, nil
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// runOrder drives OrderWorkflow to completion, one event per task, and
// returns the run.
func runOrder(t testing.TB) *enginetest.Run {
	r := enginetest.New(t, engine.Options{}, OrderWorkflow)
	r.Do(r.Started("OrderWorkflow", Order{ID: "o1", Amount: 30}))
	r.Do(r.ActivityCompleted(r.Last(history.ActivityScheduled, "Charge").ID, "rc"))
	r.Advance(time.Minute)
	out := r.Do(r.Signal("approve", "ann"))
	// The timer lost the race and was canceled with... nothing: it is
	// simply never answered. The two Ship activities are pending.
	var ships []int64
	for _, ev := range out {
		if ev.Kind == history.ActivityScheduled {
			ships = append(ships, ev.ID)
		}
	}
	require.Len(t, ships, 2, enginetest.Format(out))
	r.Do(r.ActivityCompleted(ships[1], nil))
	r.Do(r.ActivityCompleted(ships[0], nil))
	return r
}

func TestRunToCompletionThenReplayProducesNothingNew(t *testing.T) {
	r := runOrder(t)
	assert.Equal(t, "tx-o1 ann b:ok a:ok", enginetest.Result[string](r))
	assert.Equal(t, []history.Kind{
		history.WorkflowStarted, history.SideEffectRecorded, history.ActivityScheduled,
		history.ActivityCompleted, history.TimerScheduled,
		history.SignalReceived, history.ActivityScheduled, history.ActivityScheduled,
		history.ActivityCompleted,
		history.ActivityCompleted, history.VersionMarker, history.SignalWorkflowScheduled, history.WorkflowCompleted,
	}, enginetest.Kinds(r.History()))
	ex := r.ReplayCheck()
	// The replayed executor answers queries on the same state.
	res, err := ex.Query("status", nil)
	require.NoError(t, err)
	assert.Equal(t, "shipped", enginetest.Decode[string](r, res))
	_, err = ex.Execute([]history.Event{r.Signal("approve", "late")})
	assert.ErrorIs(t, err, engine.ErrRunFinished)
}

func TestReplayInPiecesOnAWarmExecutor(t *testing.T) {
	r := runOrder(t)
	ex := r.NewExecutor()
	defer ex.Close()
	// Commit by commit, with each commit given twice (overlap is skipped).
	for i, c := range r.Commits {
		require.NoError(t, ex.Replay(c), "commit %d", i)
		require.NoError(t, ex.Replay(c), "commit %d again", i)
	}
	final, ok := ex.Final()
	require.True(t, ok)
	assert.Equal(t, history.WorkflowCompleted, final.Kind)
}

func TestWarmExecutorContinuesWithNewEventsOnly(t *testing.T) {
	// A fresh executor replays the first commits, then takes over with
	// new events, as a worker does after a cache miss.
	orig := runOrder(t)
	r := enginetest.New(t, engine.Options{}, OrderWorkflow)
	r.Commits = orig.Commits[:3]
	require.NoError(t, r.Ex.Replay(r.History()))
	ships := r.Ex.Pending()
	require.Len(t, ships, 3, "the hour timer and two Ship activities")
	assert.Equal(t, history.TimerScheduled, ships[0].Event.Kind)
	r.Do(r.ActivityCompleted(ships[1].Event.ID, nil), r.ActivityCompleted(ships[2].Event.ID, nil))
	assert.Equal(t, "tx-o1 ann a:ok b:ok", enginetest.Result[string](r))
	r.ReplayCheck()
}

func TestExecuteIgnoresEventsItMustNotApply(t *testing.T) {
	wf := func(ctx workflow.Context) ([]string, error) {
		var got []string
		c := workflow.NewSignalChannel[string](ctx, "s")
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.ScheduleTimer(tctx, time.Hour)
		act := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, "A")
		v, _ := act.Get(ctx)
		got = append(got, v)
		cancel()
		_, err := timer.Get(ctx)
		got = append(got, errString(err))
		for len(got) < 4 {
			v, _ := c.Receive(ctx)
			got = append(got, v)
		}
		return got, nil
	}
	r := enginetest.New(t, engine.Options{ExecutionID: "run-1"}, engine.Workflows{"wf": wf})
	start := r.Started("wf")
	out := r.Do(start)
	timerID, actID := out[1].ID, out[2].ID

	done := r.ActivityCompleted(actID, "first")
	sig := r.Signal("s", "one")
	otherRun := r.Signal("s", "for another run")
	otherRun.ExecutionID = "run-0"
	out = r.Do(
		done,
		done,                            // redelivered: same InboxID
		r.ActivityCompleted(actID, "x"), // a second answer for the same command
		r.TimerFired(timerID),           // the timer was canceled
		r.TimerFired(999),               // answers nothing
		r.ActivityCompleted(timerID, 1), // wrong kind of answer
		start,                           // the start, redelivered
		r.Started("wf"),                 // a second start
		otherRun,
		sig,
		sig, // redelivered
	)
	assert.Equal(t, []history.Kind{history.ActivityCompleted, history.TimerCanceled, history.SignalReceived}, enginetest.Kinds(out))
	assert.Equal(t, []int64{4, 5, 6}, []int64{out[0].ID, out[1].ID, out[2].ID})
	r.Do(r.Signal("s", "two"))
	assert.Equal(t, []string{"first", "canceled", "one", "two"}, enginetest.Result[[]string](r))
	r.ReplayCheck()

	_, err := r.Ex.Execute([]history.Event{r.Signal("s", "after the end")})
	assert.ErrorIs(t, err, engine.ErrRunFinished)
}

func TestEventsAfterTheFinalEventAreDropped(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		workflow.NewSignalChannel[int](ctx, "s").Receive(ctx)
		return nil
	})
	out := r.Do(r.Signal("s", 1), r.Signal("s", 2))
	assert.Equal(t, []history.Kind{history.SignalReceived, history.WorkflowCompleted}, enginetest.Kinds(out))
}

func TestSignalsAndCancelBeforeTheStartAreKept(t *testing.T) {
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": func(ctx workflow.Context) (string, error) {
		// Under ctx the Receive would end at the cancel, before the signal.
		v, _ := workflow.NewSignalChannel[string](ctx, "s").Receive(workflow.NewDisconnectedContext(ctx))
		return v, ctx.Err()
	}})
	// Delivered ahead of the start (a late start), they are applied after
	// it: a history always begins with WorkflowStarted.
	out := r.Do(r.CancelRequested(), r.Signal("s", "early"), r.Started("wf"))
	assert.Equal(t, []history.Kind{history.WorkflowStarted, history.CancelRequested, history.SignalReceived, history.WorkflowCanceled},
		enginetest.Kinds(out))
	assert.Equal(t, history.WorkflowCanceled, r.Final().Kind)
	r.ReplayCheck()
}

func TestEventsWithoutAStartAreRefused(t *testing.T) {
	r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": func(ctx workflow.Context) error { return nil }})
	_, err := r.Ex.Execute([]history.Event{r.Signal("s", "early")})
	require.ErrorIs(t, err, engine.ErrBadHistory)
	assert.Contains(t, err.Error(), "has not started")
}

func TestBadInput(t *testing.T) {
	t.Run("Execute rejects produced events", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, OrderWorkflow)
		_, err := r.Ex.Execute([]history.Event{{Kind: history.TimerScheduled}})
		require.ErrorIs(t, err, engine.ErrBadHistory)
		assert.Equal(t, "engine: bad history: Execute was given a TimerScheduled event (index 0); only inbound events can be executed", err.Error())
	})
	t.Run("Replay checks event IDs", func(t *testing.T) {
		r := runOrder(t)
		h := r.History()
		h[3].ID = 40
		ex := r.NewExecutor()
		defer ex.Close()
		err := ex.Replay(h)
		require.ErrorIs(t, err, engine.ErrBadHistory)
		assert.Equal(t, "engine: bad history: expected event 4, got event 40 (ActivityCompleted)", err.Error())
		// Unusable from then on.
		_, err = ex.Execute(nil)
		assert.ErrorIs(t, err, engine.ErrBadHistory)
	})
	t.Run("events after the final event", func(t *testing.T) {
		r := runOrder(t)
		h := append(r.History(), history.Event{Kind: history.SignalReceived, ID: 14, Name: "s"})
		ex := r.NewExecutor()
		defer ex.Close()
		err := ex.Replay(h)
		require.ErrorIs(t, err, engine.ErrBadHistory)
		assert.Contains(t, err.Error(), "event 14 (SignalReceived) follows the run's final event 13 (WorkflowCompleted)")
	})
	t.Run("unknown workflow", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, OrderWorkflow)
		_, err := r.Execute(r.Started("Nope"))
		require.ErrorIs(t, err, engine.ErrUnknownWorkflow)
		assert.Equal(t, `engine: workflow not registered: "Nope"`, err.Error())
	})
	t.Run("registry entry that is not a workflow", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": Charge})
		_, err := r.Execute(r.Started("wf"))
		require.ErrorIs(t, err, engine.ErrUnknownWorkflow)
		assert.Contains(t, err.Error(), "the first parameter must be a workflow.Context")
	})
	t.Run("closed executor", func(t *testing.T) {
		r := enginetest.New(t, engine.Options{}, OrderWorkflow)
		r.Ex.Close()
		_, err := r.Ex.Execute(nil)
		assert.ErrorIs(t, err, engine.ErrClosed)
		assert.ErrorIs(t, r.Ex.Replay(nil), engine.ErrClosed)
		_, err = r.Ex.Query("status", nil)
		assert.ErrorIs(t, err, engine.ErrClosed)
	})
	t.Run("no registry", func(t *testing.T) {
		_, err := engine.NewExecutor(engine.Options{})
		assert.EqualError(t, err, "engine: Options.Registry is required")
	})
}

func TestWorkflowArgumentsAndResults(t *testing.T) {
	tests := []struct {
		name        string
		args        []any
		wantKind    history.Kind
		wantFailure string
	}{
		{"fits", []any{Order{ID: "a", Amount: 1}}, history.WorkflowCompleted, ""},
		{"too many", []any{Order{}, 2}, history.WorkflowFailed,
			"workflow Typed: takes 1 arguments (engine_test.Order), got 2"},
		{"too few", nil, history.WorkflowFailed,
			"workflow Typed: takes 1 arguments (engine_test.Order), got 0"},
		{"wrong type", []any{"not an order"}, history.WorkflowFailed,
			"workflow Typed: argument 1: cannot decode into engine_test.Order: msgpack: decode into *engine_test.Order: msgpack: unexpected code=ac decoding map length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.New(t, engine.Options{}, engine.Workflows{"Typed": func(ctx workflow.Context, o Order) (Order, error) { return o, nil }})
			r.Do(r.Started("Typed", tt.args...))
			final := r.Final()
			require.Equal(t, tt.wantKind, final.Kind)
			if tt.wantFailure != "" {
				assert.Equal(t, &history.Failure{Type: workflow.ErrTypeArgument, Message: tt.wantFailure, NonRetryable: true}, final.Failure)
				return
			}
			assert.Equal(t, tt.args[0], enginetest.Decode[Order](r, final.Result))
			r.ReplayCheck()
		})
	}
}

func TestWorkflowOutcomes(t *testing.T) {
	tests := []struct {
		name string
		wf   any
		want history.Event
	}{
		{"error only, nil", func(ctx workflow.Context) error { return nil }, history.Event{Kind: history.WorkflowCompleted}},
		{"plain error", func(ctx workflow.Context) error { return errors.New("boom") },
			history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{Message: "boom"}}},
		{"typed error", func(ctx workflow.Context) (int, error) { return 0, workflow.NewError("Invalid", "bad input") },
			history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{Type: "Invalid", Message: "bad input"}}},
		{"Canceled without a cancel request fails", func(ctx workflow.Context) error { return workflow.Canceled },
			history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{Type: "Canceled", Message: "canceled"}}},
		{"unencodable result", func(ctx workflow.Context) (chan int, error) { return make(chan int), nil },
			history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{Message: "workflow wf: encode result: msgpack: encode chan int: msgpack: Encode(unsupported chan int)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, tt.wf)
			final := r.Final()
			assert.Equal(t, tt.want.Kind, final.Kind)
			assert.Equal(t, tt.want.Failure, final.Failure)
		})
	}
}
