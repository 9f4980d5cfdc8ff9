package tester_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func Activity1(ctx context.Context, a, b int) (int, error) { return a + b, nil }

func RealActivity(ctx context.Context, n int) (int, error) { return n * 2, nil }

func SubWorkflow(ctx workflow.Context, in string) (int, error) { return len(in), nil }

// Workflow1 uses what the API contract's example mocks: an activity, a
// sub-workflow, a real activity and a signal.
func Workflow1(ctx workflow.Context, input string) (int, error) {
	r1, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Activity1, 35, 12).Get(ctx)
	if err != nil {
		return 0, err
	}
	r2, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, SubWorkflow, "in").Get(ctx)
	if err != nil {
		return 0, err
	}
	r3, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, RealActivity, 10).Get(ctx)
	if err != nil {
		return 0, err
	}
	by, _ := workflow.NewSignalChannel[string](ctx, "approve").Receive(ctx)
	workflow.Logger(ctx).Info("approved", "by", by, "input", input)
	return r1 + r2 + r3, nil
}

func TestContract(t *testing.T) {
	tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.OnActivity(Activity1, mock.Anything, 35, 12).Return(47, nil)
	tst.OnSubWorkflow(SubWorkflow, mock.Anything, "in").Return(3, nil)
	tst.RegisterActivity(RealActivity)
	tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", "ann") })
	tst.Execute("Hello world")

	require.True(t, tst.WorkflowFinished())
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, 47+3+20, res)
	tst.AssertExpectations(t)
	// The real activity ran in wall time, which mock time follows while it
	// runs, so the signal came an hour and a few microseconds in.
	assert.GreaterOrEqual(t, tst.Now().Sub(epoch), time.Hour)
	assert.Less(t, tst.Now().Sub(epoch), time.Hour+tester.DefaultTestTimeout)
	assert.NoError(t, tst.Err())
}

func Sleeper(ctx workflow.Context, d time.Duration) (time.Time, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return time.Time{}, err
	}
	return workflow.Now(ctx), nil
}

func TestLongSleepTakesNoWallTime(t *testing.T) {
	const month = 30 * 24 * time.Hour
	tst := tester.NewWorkflowTester[time.Time](Sleeper, tester.WithTB(t), tester.WithStartTime(epoch))
	wall := time.Now()
	tst.Execute(month)
	t.Logf("a 30-day sleep took %v of wall time", time.Since(wall))

	require.True(t, tst.WorkflowFinished())
	woke, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.True(t, woke.Equal(epoch.Add(month)), "workflow.Now after the sleep is %v", woke)
	assert.True(t, tst.Now().Equal(epoch.Add(month)), "mock time is %v", tst.Now())
}

// Deadline waits for a "go" signal for at most two hours.
func Deadline(ctx workflow.Context) (string, error) {
	var outcome string
	workflow.Select(ctx,
		workflow.Receive(workflow.NewSignalChannel[string](ctx, "go"), func(_ workflow.Context, by string, _ bool) {
			outcome = "signal from " + by
		}),
		workflow.Await(workflow.ScheduleTimer(ctx, 2*time.Hour), func(workflow.Context, workflow.Future[struct{}]) {
			outcome = "timeout"
		}),
	)
	return fmt.Sprintf("%s at %v", outcome, workflow.Now(ctx).Sub(epoch)), nil
}

func TestTimerRacesSignal(t *testing.T) {
	tests := []struct {
		name   string
		signal time.Duration // when the callback signals
		want   string
		end    time.Duration // mock time when the workflow ends
	}{
		{"signal first", time.Hour, "signal from ann at 1h0m0s", time.Hour},
		{"timer first", 3 * time.Hour, "timeout at 2h0m0s", 2 * time.Hour},
		// Due at the same time: the callback was scheduled first (before
		// the workflow started), so it goes first.
		{"same time", 2 * time.Hour, "signal from ann at 2h0m0s", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](Deadline, tester.WithTB(t), tester.WithStartTime(epoch))
			tst.ScheduleCallback(tt.signal, func() { tst.SignalWorkflow("go", "ann") })
			tst.Execute()
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			assert.Equal(t, tt.end, tst.Now().Sub(epoch))
		})
	}
}

func TestSignalBeforeExecute(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Deadline, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.SignalWorkflow("go", "bob")
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "signal from bob at 0s", res)
}

func Cleanup(ctx context.Context, what string) (string, error) { return "cleaned " + what, nil }

// Patient sleeps a day; canceled, it cleans up in a disconnected context.
func Patient(ctx workflow.Context) (string, error) {
	err := workflow.Sleep(ctx, 24*time.Hour)
	if errors.Is(err, workflow.Canceled) {
		dctx := workflow.NewDisconnectedContext(ctx)
		msg, cerr := workflow.ExecuteActivity[string](dctx, workflow.DefaultActivityOptions, Cleanup, "desk").Get(dctx)
		if cerr != nil {
			return "", cerr
		}
		return msg, workflow.Canceled
	}
	return "rested", err
}

func TestCancelWorkflow(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Patient, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.OnActivity(Cleanup, mock.Anything, "desk").Return("cleaned desk", nil).Once()
	tst.ScheduleCallback(time.Hour, tst.CancelWorkflow)
	tst.Execute()

	require.True(t, tst.WorkflowFinished())
	_, err := tst.WorkflowResult()
	assert.ErrorIs(t, err, workflow.Canceled)
	assert.Equal(t, time.Hour, tst.Now().Sub(epoch))
	tst.AssertExpectations(t)
}

// Counter counts "inc" signals until "stop", answering the "count" query.
func Counter(ctx workflow.Context) (int, error) {
	n := 0
	if err := workflow.SetQueryHandler(ctx, "count", func(plus int) (int, error) { return n + plus, nil }); err != nil {
		return 0, err
	}
	inc := workflow.NewSignalChannel[int](ctx, "inc")
	stop := workflow.NewSignalChannel[struct{}](ctx, "stop")
	for done := false; !done; {
		workflow.Select(ctx,
			workflow.Receive(inc, func(_ workflow.Context, d int, _ bool) { n += d }),
			workflow.Receive(stop, func(workflow.Context, struct{}, bool) { done = true }),
		)
	}
	return n, nil
}

func TestQueryWorkflow(t *testing.T) {
	tst := tester.NewWorkflowTester[int](Counter, tester.WithTB(t))
	var during int
	tst.ScheduleCallback(time.Minute, func() { tst.SignalWorkflow("inc", 2) })
	tst.ScheduleCallback(2*time.Minute, func() {
		v, err := tst.QueryWorkflow("count", 0)
		require.NoError(t, err)
		require.NoError(t, v.Get(&during))
		tst.SignalWorkflow("inc", 5)
	})
	tst.ScheduleCallback(3*time.Minute, func() { tst.SignalWorkflow("stop", struct{}{}) })
	tst.Execute()

	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, 7, res)
	assert.Equal(t, 2, during)

	v, err := tst.QueryWorkflow("count", 100)
	require.NoError(t, err)
	var after int
	require.NoError(t, v.Get(&after))
	assert.Equal(t, 107, after)

	_, err = tst.QueryWorkflow("nope")
	assert.ErrorContains(t, err, `"nope"`)
}

func TestUnfinishedWorkflow(t *testing.T) {
	tb := newFakeTB(t)
	tst := tester.NewWorkflowTester[int](Counter, tester.WithTB(tb))
	tst.ScheduleCallback(time.Minute, func() { tst.SignalWorkflow("inc", 1) })
	tst.Execute()

	assert.False(t, tst.WorkflowFinished())
	assert.NoError(t, tst.Err())
	_, err := tst.WorkflowResult()
	assert.ErrorIs(t, err, tester.ErrNotFinished)
	assert.ErrorContains(t, err, "waits for a signal or a cancel")
	assert.Contains(t, tb.logged(), "unfinished")
	// Its state can still be queried.
	v, err := tst.QueryWorkflow("count", 0)
	require.NoError(t, err)
	var n int
	require.NoError(t, v.Get(&n))
	assert.Equal(t, 1, n)
}

// Versioned uses a side effect and a version marker.
func Versioned(ctx workflow.Context) (string, error) {
	v := workflow.GetVersion(ctx, "greeting", workflow.DefaultVersion, 2)
	id, err := workflow.SideEffect(ctx, func(workflow.Context) string { return "id-42" }).Get(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("v%d %s", v, id), nil
}

func TestSideEffectAndVersion(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Versioned, tester.WithTB(t), tester.WithReplayCheck())
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "v2 id-42", res)
}

// Looper continues as new until n reaches 3, then returns the run it
// continued from.
func Looper(ctx workflow.Context, n int) (string, error) {
	if err := workflow.Sleep(ctx, time.Hour); err != nil {
		return "", err
	}
	if n < 3 {
		return "", workflow.ContinueAsNew(ctx, n+1)
	}
	info := workflow.GetInfo(ctx)
	return fmt.Sprintf("n=%d in %s after %s", n, info.ExecutionID, info.ContinuedExecutionID), nil
}

func TestContinueAsNew(t *testing.T) {
	t.Run("reported", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Looper, tester.WithTB(t), tester.WithStartTime(epoch))
		tst.Execute(1)
		require.True(t, tst.WorkflowFinished())
		_, err := tst.WorkflowResult()
		var can *tester.ContinuedAsNewError
		require.ErrorAs(t, err, &can)
		assert.Equal(t, []any{2}, can.Args)
		assert.Equal(t, "Looper", can.WorkflowName)
		assert.Equal(t, time.Hour, tst.Now().Sub(epoch))
	})
	t.Run("followed", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Looper, tester.WithTB(t), tester.WithStartTime(epoch), tester.WithFollowContinueAsNew())
		tst.Execute(1)
		require.True(t, tst.WorkflowFinished())
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "n=3 in run-3 after run-2", res)
		assert.Equal(t, 3*time.Hour, tst.Now().Sub(epoch))
	})
}

func Panicker(ctx workflow.Context) error {
	var m map[string]int
	m["boom"]++
	return nil
}

func TestWorkflowPanic(t *testing.T) {
	tst := tester.NewWorkflowTester[struct{}](Panicker, tester.WithTB(t))
	tst.Execute()
	require.True(t, tst.WorkflowFinished())
	_, err := tst.WorkflowResult()
	var p *workflow.PanicError
	require.ErrorAs(t, err, &p)
	assert.Contains(t, p.Value, "nil map")
	assert.Contains(t, p.Stack, "Panicker")
}

// Fails returns a typed error.
func Fails(ctx workflow.Context) (int, error) {
	return 0, workflow.NewError("Invalid", "no such order")
}

func TestWorkflowError(t *testing.T) {
	tst := tester.NewWorkflowTester[int](Fails, tester.WithTB(t))
	tst.Execute()
	_, err := tst.WorkflowResult()
	var werr *workflow.Error
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, "Invalid", werr.Type)
	assert.Equal(t, "no such order", werr.Message)
}

// Self reports who it is.
func Self(ctx workflow.Context) (string, error) {
	info := workflow.GetInfo(ctx)
	return info.WorkflowName + " " + info.InstanceID + " " + info.Queue, nil
}

func TestInstanceAndName(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Self, tester.WithTB(t),
		tester.WithInstanceID("order-7"), tester.WithWorkflowName("SelfV2"))
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "SelfV2 order-7 default", res)
}

func TestAnonymousWorkflow(t *testing.T) {
	tst := tester.NewWorkflowTester[string](func(ctx workflow.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	}, tester.WithTB(t))
	tst.Execute("quiet")
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "QUIET", res)
}

// WaitForApproval waits on a signal channel alone, without a Select on
// ctx.Done(): a cancel must still end the wait.
func WaitForApproval(ctx workflow.Context) (string, error) {
	by, ok := workflow.NewSignalChannel[string](ctx, "approve").Receive(ctx)
	if !ok {
		return "", ctx.Err()
	}
	return by, nil
}

func TestCancelWorkflowBlockedInReceive(t *testing.T) {
	tst := tester.NewWorkflowTester[string](WaitForApproval, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.ScheduleCallback(time.Hour, tst.CancelWorkflow)
	tst.Execute()

	require.True(t, tst.WorkflowFinished(), "a workflow canceled while in Receive must finish")
	_, err := tst.WorkflowResult()
	assert.ErrorIs(t, err, workflow.Canceled)
	assert.Equal(t, time.Hour, tst.Now().Sub(epoch))
}
