package tester_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// Lookup is an activity a workflow runs locally.
func Lookup(ctx context.Context, key string) (string, error) {
	if !activity.GetInfo(ctx).IsLocalActivity {
		return "", errors.New("not local")
	}
	return "value of " + key, nil
}

// LocalLookup runs Lookup as a local activity with opts and reports the
// outcome and the mock time it took.
func LocalLookup(ctx workflow.Context, opts workflow.LocalActivityOptions) (string, error) {
	start := workflow.Now(ctx)
	v, err := workflow.ExecuteLocalActivity[string](ctx, opts, Lookup, "k").Get(ctx)
	took := workflow.Now(ctx).Sub(start)
	if err != nil {
		return fmt.Sprintf("failed after %v: %v", took, err), nil
	}
	return fmt.Sprintf("%s after %v", v, took), nil
}

func TestLocalActivityRunsRegisteredOrPlain(t *testing.T) {
	tst := tester.NewWorkflowTester[string](LocalLookup)
	tst.RegisterActivity(Lookup)
	tst.Execute(workflow.LocalActivityOptions{})
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "value of k after 0s", res)

	// Not registered: the function value runs.
	tst = tester.NewWorkflowTester[string](LocalLookup)
	tst.Execute(workflow.LocalActivityOptions{})
	res, err = tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "value of k after 0s", res)
}

func TestLocalActivityMockedWithRetries(t *testing.T) {
	flaky := errors.New("flaky")
	tests := []struct {
		name     string
		opts     workflow.LocalActivityOptions
		failures int // attempts that fail before one succeeds (-1: all)
		want     string
		calls    int
	}{
		{
			name:     "short backoffs: retried inside the task, no mock time",
			opts:     workflow.LocalActivityOptions{RetryOptions: workflow.RetryOptions{FirstRetryInterval: time.Second}},
			failures: 2, want: "mocked after 0s", calls: 3,
		},
		{
			name:     "a backoff past the threshold: a timer in mock time",
			opts:     workflow.LocalActivityOptions{RetryOptions: workflow.RetryOptions{FirstRetryInterval: time.Minute}},
			failures: 2, want: "mocked after 3m0s", calls: 3,
		},
		{
			name:     "attempts run out",
			opts:     workflow.LocalActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: time.Second}},
			failures: -1, want: "failed after 0s: flaky", calls: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			tst := tester.NewWorkflowTester[string](LocalLookup)
			tst.OnActivity(Lookup, mock.Anything, "k").Return(func(ctx context.Context, key string) (string, error) {
				n := int(calls.Add(1))
				if activity.Attempt(ctx) != n {
					return "", workflow.NewPermanentError(fmt.Errorf("attempt %d on call %d", activity.Attempt(ctx), n))
				}
				if tc.failures < 0 || n <= tc.failures {
					return "", flaky
				}
				return "mocked", nil
			})
			tst.Execute(tc.opts)
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tc.want, res)
			assert.Equal(t, tc.calls, int(calls.Load()))
		})
	}
}

func panicky(ctx context.Context) (int, error) { panic("local boom") }

func slowLocal(ctx context.Context) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// LocalFailing runs a local activity that panics or overruns its timeout.
func LocalFailing(ctx workflow.Context, which string) (string, error) {
	once := workflow.RetryOptions{MaxAttempts: 1}
	var err error
	switch which {
	case "panic":
		_, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{RetryOptions: once}, panicky).Get(ctx)
	case "timeout":
		_, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 20 * time.Millisecond, RetryOptions: once}, slowLocal).Get(ctx)
	}
	var p *workflow.PanicError
	if errors.As(err, &p) {
		return fmt.Sprintf("panic %v, stack names it: %v", p.Value, strings.Contains(p.Stack, "panicky")), nil
	}
	var we *workflow.Error
	if errors.As(err, &we) {
		return we.Type, nil
	}
	return fmt.Sprint(err), nil
}

func TestLocalActivityPanicAndTimeout(t *testing.T) {
	for which, want := range map[string]string{
		"panic":   "panic local boom, stack names it: true",
		"timeout": workflow.ErrTypeTimeout,
	} {
		t.Run(which, func(t *testing.T) {
			tst := tester.NewWorkflowTester[string](LocalFailing)
			tst.Execute(which)
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, want, res)
		})
	}
}

// A local activity's name must be mocked or runnable: a name nothing
// answers fails the test with ErrUnexpectedCall.
func LocalByName(ctx workflow.Context) (string, error) {
	return workflow.ExecuteLocalActivity[string](ctx, workflow.LocalActivityOptions{}, "Nowhere", "x").Get(ctx)
}

func TestLocalActivityUnknownName(t *testing.T) {
	tb := newFakeTB(t)
	tst := tester.NewWorkflowTester[string](LocalByName, tester.WithTB(tb))
	tst.Execute()
	assert.Contains(t, tb.failure(t), "local activity Nowhere")
	assert.ErrorIs(t, tst.Err(), tester.ErrUnexpectedCall)
}

// LocalUnderContextOptions runs Lookup with the options its context
// carries, and reports the error it ends with.
func LocalUnderContextOptions(ctx workflow.Context) (string, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		RetryOptions: workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: time.Minute},
	})
	_, err := workflow.ExecuteLocalActivity[string](ctx, workflow.LocalActivityOptions{}, Lookup, "k").Get(ctx)
	return fmt.Sprint(err), nil
}

func TestLocalActivityOptionsFromContext(t *testing.T) {
	var calls atomic.Int32
	tst := tester.NewWorkflowTester[string](LocalUnderContextOptions)
	tst.OnActivity(Lookup, mock.Anything, "k").Return(func(ctx context.Context, key string) (string, error) {
		calls.Add(1)
		return "", errors.New("down")
	})
	start := tst.Now()
	tst.Execute()
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "down", res)
	assert.Equal(t, int32(2), calls.Load(), "the context's MaxAttempts")
	assert.Equal(t, time.Minute, tst.Now().Sub(start), "the context's backoff, waited with a timer")
}

// A workflow canceled while a local activity waits for its retry timer:
// the call fails with Canceled and no further attempt runs.
func TestLocalActivityCanceledDuringRetryTimer(t *testing.T) {
	var calls atomic.Int32
	tst := tester.NewWorkflowTester[string](LocalLookup)
	tst.OnActivity(Lookup, mock.Anything, "k").Return(func(ctx context.Context, key string) (string, error) {
		calls.Add(1)
		return "", errors.New("down")
	})
	tst.ScheduleCallback(30*time.Second, func() { tst.CancelWorkflow() })
	tst.Execute(workflow.LocalActivityOptions{RetryOptions: workflow.RetryOptions{FirstRetryInterval: time.Minute}})
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "failed after 30s: "+workflow.Canceled.Error(), res)
	assert.Equal(t, int32(1), calls.Load())
}
