package tester_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
	"github.com/jetflow/jetflow/workflow"
)

func Flaky(ctx context.Context, n int) (int, error) { return n, nil }

// CallFlaky calls Flaky with the options given and reports the mock time
// it took.
func CallFlaky(ctx workflow.Context, opts workflow.ActivityOptions) (string, error) {
	start := workflow.Now(ctx)
	n, err := workflow.ExecuteActivity[int](ctx, opts, Flaky, 1).Get(ctx)
	took := workflow.Now(ctx).Sub(start)
	if err != nil {
		return fmt.Sprintf("failed after %v: %v", took, err), nil
	}
	return fmt.Sprintf("%d after %v", n, took), nil
}

func TestRetryBackoffAdvancesMockTime(t *testing.T) {
	errFlaky := errors.New("flaky")
	tests := []struct {
		name     string
		opts     workflow.ActivityOptions
		failures int   // attempts that fail before one succeeds (-1: all)
		failWith error // the error they fail with
		want     string
		calls    int
	}{
		{
			name: "default policy: waits 1s then 2s", opts: workflow.DefaultActivityOptions,
			failures: 2, failWith: errFlaky, want: "1 after 3s", calls: 3,
		},
		{
			name: "default policy exhausted after 3 attempts", opts: workflow.DefaultActivityOptions,
			failures: -1, failWith: errFlaky, want: "failed after 3s: flaky", calls: 3,
		},
		{
			name: "capped backoff: 10s, 30s, then 60s instead of 90s",
			opts: workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{
				MaxAttempts: 5, FirstRetryInterval: 10 * time.Second, BackoffCoefficient: 3, MaxRetryInterval: time.Minute,
			}},
			failures: 3, failWith: errFlaky, want: "1 after 1m40s", calls: 4,
		},
		{
			name: "retry timeout stops the third retry",
			opts: workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{
				MaxAttempts: 10, FirstRetryInterval: 10 * time.Second, BackoffCoefficient: 1, RetryTimeout: 25 * time.Second,
			}},
			failures: -1, failWith: errFlaky, want: "failed after 20s: flaky", calls: 3,
		},
		{
			name: "schedule-to-close stops retrying",
			opts: workflow.ActivityOptions{ScheduleToCloseTimeout: 5 * time.Second, RetryOptions: workflow.RetryOptions{
				MaxAttempts: 10, FirstRetryInterval: 2 * time.Second, BackoffCoefficient: 2,
			}},
			failures: -1, failWith: errFlaky, want: "failed after 2s: flaky", calls: 2,
		},
		{
			name: "a permanent error is not retried", opts: workflow.DefaultActivityOptions,
			failures: -1, failWith: workflow.NewPermanentError(errFlaky), want: "failed after 0s: flaky", calls: 1,
		},
		{
			name: "MaxAttempts 1: one attempt", opts: workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 1}},
			failures: -1, failWith: errFlaky, want: "failed after 0s: flaky", calls: 1,
		},
		{
			// Attempts at 0, 1, 3 and 7 s; the next would be at 15 s.
			name: "zero retry policy: the default, until schedule-to-close", opts: workflow.ActivityOptions{ScheduleToCloseTimeout: 10 * time.Second},
			failures: -1, failWith: errFlaky, want: "failed after 7s: flaky", calls: 4,
		},
		{
			name: "zero retry policy: succeeds on a later attempt", opts: workflow.ActivityOptions{},
			failures: 5, failWith: errFlaky, want: "1 after 31s", calls: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](CallFlaky, tester.WithTB(t), tester.WithStartTime(epoch))
			var call *mock.Call
			if tt.failures < 0 {
				call = tst.OnActivity(Flaky, mock.Anything, 1).Return(0, tt.failWith)
			} else {
				call = tst.OnActivity(Flaky, mock.Anything, 1).Return(0, tt.failWith).Times(tt.failures)
				tst.OnActivity(Flaky, mock.Anything, 1).Return(1, nil).Once()
			}
			tst.Execute(tt.opts)
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			tst.AssertExpectations(t)
			call.Parent.AssertNumberOfCalls(t, "Flaky", tt.calls)
		})
	}
}

// Attempts fails until its third attempt and reports the attempt.
func Attempts(ctx context.Context) (int, error) {
	if n := activity.Attempt(ctx); n < 3 {
		return 0, fmt.Errorf("attempt %d failed", n)
	}
	return activity.GetInfo(ctx).Attempt, nil
}

func CallAttempts(ctx workflow.Context) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Attempts).Get(ctx)
}

func TestRealActivityRetries(t *testing.T) {
	tst := tester.NewWorkflowTester[int](CallAttempts, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.RegisterActivity(Attempts)
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, 3, res)
	// 1s and 2s of backoff, plus the wall time the attempts themselves took.
	took := tst.Now().Sub(epoch)
	assert.GreaterOrEqual(t, took, 3*time.Second)
	assert.Less(t, took, 3*time.Second+tester.DefaultTestTimeout)
}

// Slow runs until its context ends, heartbeating every tick if tick > 0,
// or returns after d.
func Slow(ctx context.Context, d, tick time.Duration) (string, error) {
	end := time.After(d)
	var beat <-chan time.Time
	if tick > 0 {
		t := time.NewTicker(tick)
		defer t.Stop()
		beat = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-end:
			return "done", nil
		case <-beat:
			activity.RecordHeartbeat(ctx)
		}
	}
}

func CallSlow(ctx workflow.Context, opts workflow.ActivityOptions, d, tick time.Duration) (string, error) {
	return workflow.ExecuteActivity[string](ctx, opts, Slow, d, tick).Get(ctx)
}

func TestActivityTimeouts(t *testing.T) {
	once := workflow.RetryOptions{MaxAttempts: 1}
	tests := []struct {
		name    string
		opts    workflow.ActivityOptions
		d, tick time.Duration
		want    string // the error's message, or the result
	}{
		{
			name: "start-to-close",
			opts: workflow.ActivityOptions{RetryOptions: once, StartToCloseTimeout: 50 * time.Millisecond},
			d:    time.Hour, want: "activity Slow: start-to-close timeout of 50ms exceeded",
		},
		{
			name: "schedule-to-close",
			opts: workflow.ActivityOptions{RetryOptions: once, ScheduleToCloseTimeout: 50 * time.Millisecond},
			d:    time.Hour, want: "activity Slow: schedule-to-close timeout of 50ms exceeded",
		},
		{
			name: "heartbeat",
			opts: workflow.ActivityOptions{RetryOptions: once, HeartbeatTimeout: 50 * time.Millisecond},
			d:    time.Hour, want: "activity Slow: heartbeat timeout of 50ms exceeded",
		},
		{
			name: "heartbeats keep it alive",
			opts: workflow.ActivityOptions{RetryOptions: once, HeartbeatTimeout: 2 * time.Second},
			d:    200 * time.Millisecond, tick: 5 * time.Millisecond, want: "done",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](CallSlow, tester.WithTB(t))
			tst.RegisterActivity(Slow)
			tst.Execute(tt.opts, tt.d, tt.tick)
			res, err := tst.WorkflowResult()
			if tt.want == "done" {
				require.NoError(t, err)
				assert.Equal(t, "done", res)
				return
			}
			var werr *workflow.Error
			require.ErrorAs(t, err, &werr)
			assert.Equal(t, "Timeout", werr.Type)
			assert.Equal(t, tt.want, werr.Message)
		})
	}
}

// Race runs Slow (for d) against a timer (of t).
func Race(ctx workflow.Context, d, t time.Duration) (string, error) {
	var winner string
	workflow.Select(ctx,
		workflow.Await(workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Slow, d, time.Duration(0)),
			func(workflow.Context, workflow.Future[string]) { winner = "activity" }),
		workflow.Await(workflow.ScheduleTimer(ctx, t),
			func(workflow.Context, workflow.Future[struct{}]) { winner = "timer" }),
	)
	return winner, nil
}

func TestTimerRacesRunningActivity(t *testing.T) {
	// While an activity runs, mock time follows the wall clock: a timer
	// shorter than the activity fires first, as it would in production,
	// and one longer does not.
	for _, tt := range []struct {
		activity, timer time.Duration
		want            string
	}{
		{activity: time.Hour, timer: 50 * time.Millisecond, want: "timer"},
		{activity: 0, timer: time.Hour, want: "activity"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](Race, tester.WithTB(t))
			tst.RegisterActivity(Slow)
			tst.Execute(tt.activity, tt.timer)
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
		})
	}
}

// Abort starts Slow and cancels it when told to by a signal.
func Abort(ctx workflow.Context, wait bool) (string, error) {
	actx, cancel := workflow.WithCancel(ctx)
	opts := workflow.DefaultActivityOptions
	opts.WaitForCancellation = wait
	f := workflow.ExecuteActivity[string](actx, opts, Slow, time.Hour, time.Duration(0))
	workflow.NewSignalChannel[struct{}](ctx, "abort").Receive(ctx)
	cancel()
	_, err := f.Get(ctx)
	return fmt.Sprintf("%v (canceled: %v)", err, errors.Is(err, workflow.Canceled)), nil
}

func TestCancelRunningActivity(t *testing.T) {
	for _, tt := range []struct {
		wait bool
		want string
	}{
		// The future fails at once.
		{false, "canceled (canceled: true)"},
		// The future waits for the activity, which ends canceled.
		{true, "activity Slow canceled by its workflow: canceled (canceled: true)"},
	} {
		wait := tt.wait
		t.Run(fmt.Sprintf("WaitForCancellation=%v", wait), func(t *testing.T) {
			var sawCancel atomic.Bool
			stopped := make(chan struct{})
			tst := tester.NewWorkflowTester[string](Abort, tester.WithTB(t))
			tst.OnActivity(Slow, mock.Anything, time.Hour, time.Duration(0)).Return(
				func(ctx context.Context, d, tick time.Duration) (string, error) {
					defer close(stopped)
					<-ctx.Done()
					sawCancel.Store(true)
					return "", ctx.Err()
				})
			tst.ScheduleCallback(time.Millisecond, func() { tst.SignalWorkflow("abort", struct{}{}) })
			tst.Execute(wait)
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			<-stopped // canceled by the workflow, or when Execute returned
			if wait {
				assert.True(t, sawCancel.Load(), "the activity's context was not canceled")
			}
		})
	}
}

func PanickyActivity(ctx context.Context) error { panic("kaboom") }

func CallPanicky(ctx workflow.Context) error {
	opts := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 2}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, opts, PanickyActivity).Get(ctx)
	return err
}

func TestActivityPanics(t *testing.T) {
	t.Run("registered", func(t *testing.T) {
		tst := tester.NewWorkflowTester[any](CallPanicky, tester.WithTB(t))
		tst.RegisterActivity(PanickyActivity)
		tst.Execute()
		_, err := tst.WorkflowResult()
		var p *workflow.PanicError
		require.ErrorAs(t, err, &p)
		assert.Equal(t, "kaboom", p.Value)
	})
	t.Run("mocked", func(t *testing.T) {
		tst := tester.NewWorkflowTester[any](CallPanicky, tester.WithTB(t))
		tst.OnActivity(PanickyActivity, mock.Anything).Panic("mock kaboom").Twice()
		tst.Execute()
		_, err := tst.WorkflowResult()
		var p *workflow.PanicError
		require.ErrorAs(t, err, &p)
		assert.Equal(t, "mock kaboom", p.Value)
		tst.AssertExpectations(t)
	})
}

// Activities are registered as a struct; the workflow calls one by method
// value and one by name.
type Activities struct{ Greeting string }

func (a *Activities) Greet(ctx context.Context, name string) (string, error) {
	return a.Greeting + ", " + name, nil
}

func (a *Activities) Shout(ctx context.Context, s string) (string, error) { return s + "!", nil }

func Greeter(ctx workflow.Context, name string) (string, error) {
	var a *Activities
	g, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, name).Get(ctx)
	if err != nil {
		return "", err
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, "Shout", g).Get(ctx)
}

func TestActivityKinds(t *testing.T) {
	t.Run("registered struct", func(t *testing.T) {
		tst := tester.NewWorkflowTester[string](Greeter, tester.WithTB(t))
		tst.RegisterActivity(&Activities{Greeting: "Hello"})
		tst.Execute("ann")
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "Hello, ann!", res)
	})
	t.Run("mocked method value and name", func(t *testing.T) {
		var a *Activities
		tst := tester.NewWorkflowTester[string](Greeter, tester.WithTB(t))
		tst.OnActivity(a.Greet, mock.Anything, "ann").Return("Hi, ann", nil)
		tst.OnActivityByName("Shout", mock.Anything, "Hi, ann").Return("HI, ANN", nil)
		tst.Execute("ann")
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "HI, ANN", res)
		tst.AssertExpectations(t)
	})
	t.Run("mock returning a function", func(t *testing.T) {
		var a *Activities
		tst := tester.NewWorkflowTester[string](Greeter, tester.WithTB(t))
		tst.OnActivity(a.Greet, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, name string) (string, error) {
				return fmt.Sprintf("attempt %d for %s", activity.Attempt(ctx), name), nil
			})
		tst.RegisterActivity(&Activities{})
		tst.Execute("bob")
		res, err := tst.WorkflowResult()
		require.NoError(t, err)
		assert.Equal(t, "attempt 1 for bob!", res)
	})
}

func Add64(ctx context.Context, a, b int64) (int64, error) { return a + b, nil }

func CallAdd64(ctx workflow.Context) (int64, error) {
	return workflow.ExecuteActivity[int64](ctx, workflow.DefaultActivityOptions, Add64, 1, 2).Get(ctx)
}

func TestMockArgumentsAreConverted(t *testing.T) {
	tst := tester.NewWorkflowTester[int64](CallAdd64, tester.WithTB(t))
	tst.OnActivity(Add64, mock.Anything, 1, 2).Return(3, nil) // untyped 1, 2 and 3 for int64s
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, int64(3), res)
}

// AbortRetrying cancels Flaky while it waits a minute to be retried, and
// waits for it to end.
func AbortRetrying(ctx workflow.Context) (string, error) {
	actx, cancel := workflow.WithCancel(ctx)
	opts := workflow.ActivityOptions{
		WaitForCancellation: true,
		RetryOptions:        workflow.RetryOptions{MaxAttempts: 5, FirstRetryInterval: time.Minute},
	}
	f := workflow.ExecuteActivity[int](actx, opts, Flaky, 1)
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return "", err
	}
	cancel()
	_, err := f.Get(ctx)
	return fmt.Sprintf("%v, after %v", err, workflow.Now(ctx).Sub(epoch)), nil
}

func TestCancelActivityBetweenAttempts(t *testing.T) {
	tst := tester.NewWorkflowTester[string](AbortRetrying, tester.WithTB(t), tester.WithStartTime(epoch))
	tst.OnActivity(Flaky, mock.Anything, 1).Return(0, errors.New("flaky")).Once()
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	// As in the worker, the next attempt ends the activity as canceled
	// when it is due, without calling it.
	assert.Equal(t, "activity Flaky canceled by its workflow: canceled, after 1m0s", res)
	tst.AssertExpectations(t)
}
