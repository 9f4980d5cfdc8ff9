package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Add(ctx context.Context, a, b int) (int, error) { return a + b, nil }

// Quickstart is the classic two-activity workflow.
func Quickstart(ctx workflow.Context, input string) (int, error) {
	r1, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Add, 35, 12).Get(ctx)
	if err != nil {
		return 0, err
	}
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Add, r1, 12).Get(ctx)
}

func TestSimpleWorkflow(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Quickstart))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		notices, err := e.b.WatchResults("order-42")
		require.NoError(t, err)
		defer notices.Stop()
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "order-42"}, Quickstart, "hello")
		require.NoError(t, err)
		assert.Equal(t, "order-42", inst.InstanceID)
		assert.NotEmpty(t, inst.ExecutionID)
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 59, res)

		// The worker's result notice carries the small outcome, so
		// waiters need not read the registry again.
		n, err := notices.Next(ctx)
		require.NoError(t, err)
		assert.True(t, n.Outcome)
		assert.Equal(t, inst.ExecutionID, n.ExecutionID)
		assert.Equal(t, "Quickstart", n.WorkflowName)
		var fromNotice int
		require.NoError(t, e.c.Converter().Decode(n.Result, &fromNotice))
		assert.Equal(t, 59, fromNotice)

		// By instance ID alone, and started by name.
		res, err = client.GetWorkflowResult[int](ctx, e.c, &workflow.Instance{InstanceID: "order-42"}, 0)
		require.NoError(t, err)
		assert.Equal(t, 59, res)
		inst2, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "Quickstart", "by name")
		require.NoError(t, err)
		res, err = client.GetWorkflowResult[int](ctx, e.c, inst2, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 59, res)
	})
}

func Square(ctx context.Context, i int) (int, error) { return i * i, nil }

// FanOut runs n activities at once and sums them through Select.
func FanOut(ctx workflow.Context, n int) (int, error) {
	futures := make([]workflow.Future[int], n)
	for i := range futures {
		futures[i] = workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Square, i)
	}
	sum, done := 0, 0
	var firstErr error
	for done < n {
		cases := make([]workflow.SelectCase, 0, n)
		for i, f := range futures {
			if f == nil {
				continue
			}
			cases = append(cases, workflow.Await(f, func(ctx workflow.Context, f workflow.Future[int]) {
				v, err := f.Get(ctx)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				sum += v
				futures[i] = nil
				done++
			}))
		}
		workflow.Select(ctx, cases...)
	}
	return sum, firstErr
}

func TestHundredActivitiesInParallel(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(FanOut))
			must(t, w.RegisterActivity(Square))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, FanOut, 100)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 30*time.Second)
		require.NoError(t, err)
		want := 0
		for i := 0; i < 100; i++ {
			want += i * i
		}
		assert.Equal(t, want, res)
	})
}

// flaky fails until its attempt reaches succeedAt, recording each attempt.
type flaky struct {
	mu        sync.Mutex
	attempts  []int
	succeedAt int
}

func (f *flaky) Flaky(ctx context.Context) (int, error) {
	n := activity.Attempt(ctx)
	f.mu.Lock()
	f.attempts = append(f.attempts, n)
	f.mu.Unlock()
	if n < f.succeedAt {
		return 0, workflow.NewError("Flaky", fmt.Sprintf("attempt %d failed", n))
	}
	return n, nil
}

func (f *flaky) seen() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.attempts...)
}

var quickRetries = workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{
	MaxAttempts: 3, FirstRetryInterval: 50 * time.Millisecond, BackoffCoefficient: 2,
}}

func RetryingWorkflow(ctx workflow.Context) (int, error) {
	var f *flaky
	return workflow.ExecuteActivity[int](ctx, quickRetries, f.Flaky).Get(ctx)
}

func TestActivityRetriesThenSucceeds(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		acts := &flaky{succeedAt: 3}
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(RetryingWorkflow))
			must(t, w.RegisterActivity(acts))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, RetryingWorkflow)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 3, res, "the activity saw its attempt number")
		assert.Equal(t, []int{1, 2, 3}, acts.seen())
	})
}

func TestActivityFailsAfterRetries(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		acts := &flaky{succeedAt: 100}
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(RetryingWorkflow))
			must(t, w.RegisterActivity(acts))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, RetryingWorkflow)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.Error(t, err)
		var werr *workflow.Error
		require.True(t, errors.As(err, &werr), "error %T %v keeps its type", err, err)
		assert.Equal(t, "Flaky", werr.Type)
		assert.Contains(t, err.Error(), "attempt 3 failed")
		assert.Equal(t, []int{1, 2, 3}, acts.seen(), "three attempts, no more")
	})
}

func Panicky(ctx context.Context) error { panic("activity exploded") }

func PanickyWorkflow(ctx workflow.Context) error {
	opts := workflow.ActivityOptions{RetryOptions: workflow.RetryOptions{MaxAttempts: 1}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, opts, Panicky).Get(ctx)
	return err
}

func TestActivityPanic(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(PanickyWorkflow))
			must(t, w.RegisterActivity(Panicky))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, PanickyWorkflow)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[struct{}](ctx, e.c, inst, 20*time.Second)
		var perr *workflow.PanicError
		require.True(t, errors.As(err, &perr), "got %T %v", err, err)
		assert.Contains(t, perr.Value, "activity exploded")
		assert.Contains(t, perr.Stack, "Panicky")
	})
}

func Slow(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TimeoutWorkflow(ctx workflow.Context) (string, error) {
	opts := workflow.ActivityOptions{StartToCloseTimeout: 200 * time.Millisecond, RetryOptions: workflow.RetryOptions{MaxAttempts: 1}}
	_, err := workflow.ExecuteActivity[struct{}](ctx, opts, Slow).Get(ctx)
	var werr *workflow.Error
	if errors.As(err, &werr) {
		return werr.Type + ": " + werr.Message, nil
	}
	return "", fmt.Errorf("unexpected: %v", err)
}

func TestStartToCloseTimeout(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(TimeoutWorkflow))
			must(t, w.RegisterActivity(Slow))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, TimeoutWorkflow)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "Timeout: activity Slow: start-to-close timeout of 200ms exceeded", res)
	})
}

var sideEffectRuns atomic.Int64

func SideEffectWorkflow(ctx workflow.Context) (int64, error) {
	v, err := workflow.SideEffect[int64](ctx, func(workflow.Context) int64 { return sideEffectRuns.Add(1) }).Get(ctx)
	if err != nil {
		return 0, err
	}
	// More tasks after the side effect, so it is replayed when uncached.
	for i := 0; i < 3; i++ {
		if _, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Add, i, 1).Get(ctx); err != nil {
			return 0, err
		}
	}
	return v, nil
}

func TestSideEffectRunsOnce(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(SideEffectWorkflow))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		before := sideEffectRuns.Load()
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, SideEffectWorkflow)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[int64](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, before+1, res)
		assert.Equal(t, before+1, sideEffectRuns.Load(), "the side effect ran once across all replays")
	})
}

func TestArgumentMismatch(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Quickstart))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		// The client knows the function: refused before anything is written.
		_, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Quickstart, "a", "b")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Quickstart")
		// By name the client cannot know: the run fails with a clear error.
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "Quickstart", 1, 2)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "argument")
	})
}

func TestUnknownNames(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(UnknownActivityWorkflow))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "NoSuchWorkflow")
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `no worker of queue "default" has workflow "NoSuchWorkflow" registered`)

		inst, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UnknownActivityWorkflow)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, `no worker of queue "default" has activity "NoSuchActivity" registered`, res)
	})
}

func UnknownActivityWorkflow(ctx workflow.Context) (string, error) {
	_, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, "NoSuchActivity").Get(ctx)
	if err == nil {
		return "", errors.New("an unknown activity succeeded")
	}
	return err.Error(), nil
}
