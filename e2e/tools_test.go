package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// ToolsAwaitApproval waits up to `within` for `need` "approve" signals,
// counted by a coroutine of its own.
func ToolsAwaitApproval(ctx workflow.Context, need int, within time.Duration) (string, error) {
	n := 0
	ch := workflow.NewSignalChannel[string](ctx, "approve")
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			if _, ok := ch.Receive(ctx); !ok {
				return
			}
			n++
		}
	})
	ok, err := workflow.AwaitWithTimeout(ctx, within, func() bool { return n >= need })
	if err != nil {
		return "", err
	}
	if !ok {
		return "expired", nil
	}
	return "approved", workflow.AwaitCondition(ctx, func() bool { return n >= need })
}

// AwaitCondition and AwaitWithTimeout on a real server: signals change the
// state the condition reads; a short timeout runs out.
func TestAwaitCondition(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(ToolsAwaitApproval)) })
		ctx := ctxFor(t)

		approved, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsAwaitApproval, 2, time.Hour)
		require.NoError(t, err)
		for range 2 {
			require.NoError(t, e.c.SignalWorkflow(ctx, approved.InstanceID, "approve", "ann"))
		}
		res, err := client.GetWorkflowResult[string](ctx, e.c, approved, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "approved", res)

		expired, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsAwaitApproval, 2, 300*time.Millisecond)
		require.NoError(t, err)
		require.NoError(t, e.c.SignalWorkflow(ctx, expired.InstanceID, "approve", "ann"))
		res, err = client.GetWorkflowResult[string](ctx, e.c, expired, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "expired", res)
	})
}

// toolsFlakyCalls counts ToolsFlaky's attempts per key.
var toolsFlakyCalls = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// ToolsFlaky fails until it has been called `fails` times for key.
func ToolsFlaky(ctx context.Context, key string, fails int) (int, error) {
	toolsFlakyCalls.Lock()
	defer toolsFlakyCalls.Unlock()
	toolsFlakyCalls.n[key]++
	if n := toolsFlakyCalls.n[key]; fails < 0 || n <= fails {
		return 0, fmt.Errorf("flaky attempt %d", n)
	}
	return toolsFlakyCalls.n[key], nil
}

// ToolsRetryDefault calls ToolsFlaky with no MaxAttempts: only the
// schedule-to-close timeout (if given) ends the retries.
func ToolsRetryDefault(ctx workflow.Context, key string, fails int, scheduleToClose time.Duration) (int, error) {
	opts := workflow.ActivityOptions{
		ScheduleToCloseTimeout: scheduleToClose,
		RetryOptions:           workflow.RetryOptions{FirstRetryInterval: 10 * time.Millisecond, BackoffCoefficient: 1},
	}
	return workflow.ExecuteActivity[int](ctx, opts, ToolsFlaky, key, fails).Get(ctx)
}

// With no MaxAttempts an activity is retried (here 6 times, more than
// any old default) until it succeeds, or until ScheduleToClose ends it.
func TestRetriesByDefault(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsRetryDefault))
		must(t, w.RegisterActivity(ToolsFlaky))
	})
	ctx := ctxFor(t)
	key := uniqueID("retry")
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsRetryDefault, key, 6, time.Duration(0))
	require.NoError(t, err)
	n, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 7, n, "six failures, then success")

	key = uniqueID("retry-s2c")
	inst, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsRetryDefault, key, -1, 500*time.Millisecond)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
	require.Error(t, err)
	// The last attempt's error when no retry fits in the time left; the
	// timeout itself when a retry was due in time but started after it
	// (a slow machine).
	var we *workflow.Error
	if !strings.Contains(err.Error(), "flaky attempt") {
		require.ErrorAs(t, err, &we)
		assert.Equal(t, workflow.ErrTypeTimeout, we.Type, "%v", err)
		assert.Contains(t, err.Error(), "schedule-to-close timeout")
	}
	toolsFlakyCalls.Lock()
	calls := toolsFlakyCalls.n[key]
	toolsFlakyCalls.Unlock()
	assert.Greater(t, calls, 2, "retried until the timeout")
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

// ToolsCtxChild returns its own instance ID.
func ToolsCtxChild(ctx workflow.Context) (string, error) {
	return workflow.GetInfo(ctx).InstanceID, nil
}

// ToolsCtxOptions calls ToolsFlaky and a child with zero options under a
// context that carries them.
func ToolsCtxOptions(ctx workflow.Context, key string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		RetryOptions: workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: 10 * time.Millisecond},
	})
	ctx = workflow.WithSubWorkflowOptions(ctx, workflow.SubWorkflowOptions{InstanceID: key + "-child"})
	_, err := workflow.ExecuteActivity[int](ctx, workflow.ActivityOptions{}, ToolsFlaky, key, -1).Get(ctx)
	if err == nil {
		return "", errors.New("ToolsFlaky succeeded")
	}
	return workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, ToolsCtxChild).Get(ctx)
}

// Options carried by the context reach the worker: two attempts, the
// child's instance ID.
func TestOptionsFromTheContext(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsCtxOptions))
		must(t, w.RegisterWorkflow(ToolsCtxChild))
		must(t, w.RegisterActivity(ToolsFlaky))
	})
	ctx := ctxFor(t)
	key := uniqueID("ctxopts")
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsCtxOptions, key)
	require.NoError(t, err)
	child, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, key+"-child", child)
	toolsFlakyCalls.Lock()
	defer toolsFlakyCalls.Unlock()
	assert.Equal(t, 2, toolsFlakyCalls.n[key], "MaxAttempts 2 from the context")
}

// ToolsFlakyChild fails its first `fails` attempts, then reports its
// attempt.
func ToolsFlakyChild(ctx workflow.Context, fails int) (int, error) {
	if a := workflow.GetInfo(ctx).Attempt; a <= fails {
		return 0, fmt.Errorf("attempt %d failed", a)
	}
	return workflow.GetInfo(ctx).Attempt, nil
}

// ToolsSleepyChild sleeps for an hour.
func ToolsSleepyChild(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Hour) }

// ToolsRunOptionsParent starts a flaky child with a retry policy and a
// sleepy one with a run timeout, and reports both outcomes.
func ToolsRunOptionsParent(ctx workflow.Context, id string) ([]string, error) {
	n, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{
		InstanceID:   id + "-flaky",
		RetryOptions: &workflow.RetryOptions{FirstRetryInterval: 50 * time.Millisecond, MaxAttempts: 5},
	}, ToolsFlakyChild, 2).Get(ctx)
	out := []string{fmt.Sprintf("flaky: %d %v", n, err)}
	_, err = workflow.CreateSubWorkflowInstance[struct{}](ctx, workflow.SubWorkflowOptions{
		InstanceID: id + "-sleepy", RunTimeout: 300 * time.Millisecond,
	}, ToolsSleepyChild).Get(ctx)
	var we *workflow.Error
	if errors.As(err, &we) {
		out = append(out, "sleepy: "+we.Type)
	}
	return out, nil
}

// A child with a retry policy runs again after a failure (a new run of
// the same instance); a child past its run timeout fails with Timeout.
func TestSubWorkflowRetryAndRunTimeout(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(ToolsRunOptionsParent))
			must(t, w.RegisterWorkflow(ToolsFlakyChild))
			must(t, w.RegisterWorkflow(ToolsSleepyChild))
		})
		ctx := ctxFor(t)
		id := uniqueID("runopts")
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, ToolsRunOptionsParent, id)
		require.NoError(t, err)
		out, err := client.GetWorkflowResult[[]string](ctx, e.c, inst, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"flaky: 3 <nil>", "sleepy: Timeout"}, out)

		d, err := e.c.DescribeWorkflowInstance(ctx, id+"-flaky")
		require.NoError(t, err)
		assert.Equal(t, streams.StatusCompleted, d.Status)
		assert.Len(t, d.Runs, 2, "two failed runs before the one that completed")
		d, err = e.c.DescribeWorkflowInstance(ctx, id+"-sleepy")
		require.NoError(t, err)
		assert.Equal(t, streams.StatusFailed, d.Status)
	})
}

// ToolsMemoChild returns its memo's "ticket".
func ToolsMemoChild(ctx workflow.Context) (string, error) {
	var ticket string
	ok, err := workflow.GetMemoValue(ctx, "ticket", &ticket)
	if !ok {
		return "no memo", err
	}
	return ticket, err
}

// ToolsMemoParent continues as new once, then starts a child with a memo
// of its own and waits for "done".
func ToolsMemoParent(ctx workflow.Context, id string, continued bool) (string, error) {
	if !continued {
		return "", workflow.ContinueAsNew(ctx, id, true)
	}
	var by string
	if _, err := workflow.GetMemoValue(ctx, "by", &by); err != nil {
		return "", err
	}
	t, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{
		InstanceID: id + "-child", Memo: map[string]any{"ticket": "SUP-" + by},
	}, ToolsMemoChild).Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.NewSignalChannel[string](ctx, "done").Receive(ctx)
	return t, nil
}

// A memo given at start is in the record (describe), reaches the workflow
// across continue-as-new, and a child's own memo reaches the child.
func TestMemo(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsMemoParent))
		must(t, w.RegisterWorkflow(ToolsMemoChild))
	})
	ctx := ctxFor(t)
	id := uniqueID("memo")
	type note struct{ Text string }
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
		InstanceID: id, Memo: map[string]any{"by": "ann", "note": note{"rush"}},
	}, ToolsMemoParent, id, false)
	require.NoError(t, err)
	waitFor(t, 10*time.Second, "the child to finish", func() bool {
		d, err := e.c.DescribeWorkflowInstance(ctx, id+"-child")
		return err == nil && d.Status == streams.StatusCompleted
	})
	d, err := e.c.DescribeWorkflowInstance(ctx, id)
	require.NoError(t, err)
	assert.Len(t, d.Runs, 1, "continued as new")
	assert.Equal(t, "ann", d.Memo["by"])
	assert.Equal(t, map[string]any{"Text": "rush"}, d.Memo["note"])
	child, err := e.c.DescribeWorkflowInstance(ctx, id+"-child")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"ticket": "SUP-ann"}, child.Memo)

	require.NoError(t, e.c.SignalWorkflow(ctx, id, "done", ""))
	res, err := client.GetWorkflowResult[string](ctx, e.c, &workflow.Instance{InstanceID: inst.InstanceID}, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "SUP-ann", res)
}

// ToolsForever continues as new every 50 ms, for ever.
func ToolsForever(ctx workflow.Context, n int) (int, error) {
	if err := workflow.Sleep(ctx, 50*time.Millisecond); err != nil {
		return n, err
	}
	return 0, workflow.ContinueAsNew(ctx, n+1)
}

// ToolsStartedAt returns the workflow time it started at.
func ToolsStartedAt(ctx workflow.Context) (time.Time, error) { return workflow.Now(ctx), nil }

// Options of a client's start: a delayed start, a run timeout, an
// execution timeout across continue-as-new, and retries of a failed run.
func TestInstanceTimeoutsRetriesAndStartDelay(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsSleepyChild))
		must(t, w.RegisterWorkflow(ToolsForever))
		must(t, w.RegisterWorkflow(ToolsFlakyChild))
		must(t, w.RegisterWorkflow(ToolsStartedAt))
	})
	ctx := ctxFor(t)
	timeoutOf := func(err error) string {
		var we *workflow.Error
		if errors.As(err, &we) && we.Type == workflow.ErrTypeTimeout {
			return we.Message
		}
		return fmt.Sprintf("not a timeout: %v", err)
	}

	t.Run("start delay", func(t *testing.T) {
		before := time.Now()
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{StartDelay: 700 * time.Millisecond}, ToolsStartedAt)
		require.NoError(t, err)
		d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
		require.NoError(t, err)
		require.False(t, d.StartAt.IsZero())
		assert.False(t, d.StartAt.Before(before.Add(700*time.Millisecond)), "StartAt is the delay away")
		startedAt, err := client.GetWorkflowResult[time.Time](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, d.StartAt.UTC(), startedAt.UTC(), "the run's clock starts at the delayed start")
		d, err = e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
		require.NoError(t, err)
		assert.False(t, d.FinishedAt.Before(d.StartAt), "the worker ran it no sooner than its start")
	})
	t.Run("run timeout", func(t *testing.T) {
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{RunTimeout: 300 * time.Millisecond}, ToolsSleepyChild)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[struct{}](ctx, e.c, inst, 20*time.Second)
		assert.Equal(t, "workflow ToolsSleepyChild: run timeout of 300ms exceeded", timeoutOf(err))
	})
	t.Run("execution timeout across continue-as-new", func(t *testing.T) {
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{ExecutionTimeout: 600 * time.Millisecond, RunTimeout: time.Hour}, ToolsForever, 0)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[int](ctx, e.c, &workflow.Instance{InstanceID: inst.InstanceID}, 20*time.Second)
		assert.Equal(t, "workflow ToolsForever: execution timeout of 600ms exceeded", timeoutOf(err))
		d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
		require.NoError(t, err)
		assert.NotEmpty(t, d.Runs, "it continued as new before the deadline")
	})
	t.Run("retries", func(t *testing.T) {
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{
			RetryOptions: &workflow.RetryOptions{FirstRetryInterval: 20 * time.Millisecond},
		}, ToolsFlakyChild, 3)
		require.NoError(t, err)
		// Waiting on the first run follows it to the retries.
		n, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 4, n)
	})
}

// ToolsSquare squares n after n×20 ms, so results arrive out of order.
func ToolsSquare(ctx context.Context, n int) (int, error) {
	time.Sleep(time.Duration(n) * 20 * time.Millisecond)
	return n * n, nil
}

// ToolsSelectorFanOut handles each activity's result once, as it arrives.
func ToolsSelectorFanOut(ctx workflow.Context, ns []int) ([]int, error) {
	sel := workflow.NewSelector(ctx)
	var out []int
	for _, n := range ns {
		f := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, ToolsSquare, n)
		sel.Add(workflow.Await(f, func(ctx workflow.Context, f workflow.Future[int]) {
			v, _ := f.Get(ctx)
			out = append(out, v)
		}))
	}
	for sel.Len() > 0 {
		sel.Select(ctx)
	}
	return out, nil
}

// A Selector hands each future to its handler once, across Select calls
// and replays.
func TestSelector(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(ToolsSelectorFanOut))
			must(t, w.RegisterActivity(ToolsSquare))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsSelectorFanOut, []int{5, 1, 3, 2, 4})
		require.NoError(t, err)
		out, err := client.GetWorkflowResult[[]int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{25, 1, 9, 4, 16}, out)
	})
}

// ToolsOrder is an argument passed by pointer or by value.
type ToolsOrder struct {
	ID  string
	Qty int
}

// ToolsPack takes its order by value.
func ToolsPack(ctx context.Context, o ToolsOrder) (ToolsOrder, error) {
	o.Qty *= 10
	return o, nil
}

// ToolsPointerWorkflow takes its order by pointer and passes it by
// pointer to an activity that takes a value, reading the result as a
// pointer.
func ToolsPointerWorkflow(ctx workflow.Context, o *ToolsOrder) (*ToolsOrder, error) {
	return workflow.ExecuteActivity[*ToolsOrder](ctx, workflow.DefaultActivityOptions, ToolsPack, o).Get(ctx)
}

// Pointer for value and value for pointer travel through the converter:
// client → workflow, workflow → activity, result → workflow.
func TestArgumentFit(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsPointerWorkflow))
		must(t, w.RegisterActivity(ToolsPack))
	})
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsPointerWorkflow, ToolsOrder{ID: "o-1", Qty: 2})
	require.NoError(t, err)
	out, err := client.GetWorkflowResult[ToolsOrder](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, ToolsOrder{ID: "o-1", Qty: 20}, out)

	_, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsPointerWorkflow, "o-1")
	assert.ErrorContains(t, err, "argument 1: string does not fit *e2e.ToolsOrder")
}

// ToolsBilling and ToolsShipping have a method of the same name.
type ToolsBilling struct{}

func (*ToolsBilling) Notify(ctx context.Context, who string) (string, error) {
	return "billing " + who, nil
}

type ToolsShipping struct{}

func (*ToolsShipping) Notify(ctx context.Context, who string) (string, error) {
	return "shipping " + who, nil
}

// ToolsCallsByName calls the prefixed methods, an activity only the
// catch-all handles, and a child only the catch-all workflow handles.
func ToolsCallsByName(ctx workflow.Context, who string) ([]string, error) {
	var out []string
	for _, name := range []string{"billing.Notify", "shipping.Notify", "Shout"} {
		s, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, name, who).Get(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	s, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, "Echo", who, 3).Get(ctx)
	return append(out, s), err
}

// Prefixed methods and catch-all workflows and activities on a worker.
func TestDynamicRegistration(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(ToolsCallsByName))
			must(t, w.RegisterActivity(&ToolsBilling{}, worker.WithNamePrefix("billing.")))
			must(t, w.RegisterActivity(&ToolsShipping{}, worker.WithNamePrefix("shipping.")))
			must(t, w.RegisterDynamicActivity(func(ctx context.Context, name string, args converter.EncodedValues) (any, error) {
				var who string
				if err := args.Get(0, &who); err != nil {
					return nil, err
				}
				return strings.ToUpper(name + " " + who), nil
			}))
			must(t, w.RegisterDynamicWorkflow(func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error) {
				var who string
				var n int
				if err := errors.Join(args.Get(0, &who), args.Get(1, &n)); err != nil {
					return nil, err
				}
				return fmt.Sprintf("%s(%s×%d) on %s", name, who, n, workflow.GetInfo(ctx).WorkflowName), nil
			}))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsCallsByName, "ann")
		require.NoError(t, err)
		out, err := client.GetWorkflowResult[[]string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"billing ann", "shipping ann", "SHOUT ANN", "Echo(ann×3) on Echo"}, out)

		// A client may start any name: the catch-all runs it.
		inst, err = e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "Anything", "bob", 1)
		require.NoError(t, err)
		s, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "Anything(bob×1) on Anything", s)
	})
}

// toolsTokens receives the task tokens of ToolsAsync calls.
var toolsTokens = make(chan []byte, 8)

// ToolsAsync hands its token to the test and leaves its result pending.
func ToolsAsync(ctx context.Context, id string) (string, error) {
	toolsTokens <- activity.GetInfo(ctx).TaskToken
	return "", activity.ErrResultPending
}

// ToolsAsyncWorkflow calls ToolsAsync and reports its outcome.
func ToolsAsyncWorkflow(ctx workflow.Context, id string) (string, error) {
	s, err := workflow.ExecuteActivity[string](ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Second}, ToolsAsync, id).Get(ctx)
	if err != nil {
		var we *workflow.Error
		if errors.As(err, &we) {
			return "failed: " + we.Type + ": " + we.Message, nil
		}
		return "failed: " + err.Error(), nil
	}
	return "done: " + s, nil
}

// An activity completed by an outside system through the client; failed
// the same way; and one whose outcome never comes, ended by its timeout.
func TestAsyncActivityCompletion(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsAsyncWorkflow))
		must(t, w.RegisterActivity(ToolsAsync))
	})
	ctx := ctxFor(t)
	run := func(id string, outcome func(token []byte)) string {
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, ToolsAsyncWorkflow, id)
		require.NoError(t, err)
		select {
		case token := <-toolsTokens:
			outcome(token)
		case <-ctx.Done():
			t.Fatal("no token")
		}
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		return res
	}
	assert.Equal(t, "done: shipped", run(uniqueID("async-ok"), func(token []byte) {
		require.NoError(t, e.c.CompleteActivity(ctx, token, "shipped"))
	}))
	assert.Equal(t, "failed: OutOfStock: no stock", run(uniqueID("async-fail"), func(token []byte) {
		require.NoError(t, e.c.FailActivity(ctx, token, workflow.NewError("OutOfStock", "no stock")))
		require.NoError(t, e.c.CompleteActivity(ctx, token, "too late"), "a second outcome is accepted and ignored")
	}))
	var late []byte
	assert.Equal(t, "failed: Timeout: activity ToolsAsync: start-to-close timeout of 2s exceeded", run(uniqueID("async-timeout"), func(token []byte) {
		late = token
	}))
	require.NoError(t, e.c.CompleteActivity(ctx, late, "after the timeout"), "ignored")

	assert.ErrorIs(t, e.c.CompleteActivity(ctx, []byte("{}"), 1), streams.ErrBadActivityToken)
}

// toolsTenantKey is the context key of the tenant, in context.Context
// and in workflow.Context alike.
type toolsTenantKey struct{}

// toolsTenantPropagator carries the tenant under header key "tenant".
type toolsTenantPropagator struct{}

func (toolsTenantPropagator) Inject(ctx context.Context, h map[string][]byte) error {
	if t, ok := ctx.Value(toolsTenantKey{}).(string); ok {
		h["tenant"] = []byte(t)
	}
	return nil
}

func (toolsTenantPropagator) Extract(ctx context.Context, h map[string][]byte) (context.Context, error) {
	if t, ok := h["tenant"]; ok {
		return context.WithValue(ctx, toolsTenantKey{}, string(t)), nil
	}
	return ctx, nil
}

func (toolsTenantPropagator) InjectFromWorkflow(ctx workflow.Context, h map[string][]byte) error {
	if t, ok := ctx.Value(toolsTenantKey{}).(string); ok {
		h["tenant"] = []byte(t)
	}
	return nil
}

func (toolsTenantPropagator) ExtractToWorkflow(ctx workflow.Context, h map[string][]byte) (workflow.Context, error) {
	if t, ok := h["tenant"]; ok {
		return workflow.WithValue(ctx, toolsTenantKey{}, string(t)), nil
	}
	return ctx, nil
}

// ToolsTenantActivity reports the tenant its context carries.
func ToolsTenantActivity(ctx context.Context) (string, error) {
	t, _ := ctx.Value(toolsTenantKey{}).(string)
	return "activity sees " + t, nil
}

// ToolsTenantChild reports the tenant its context carries.
func ToolsTenantChild(ctx workflow.Context) (string, error) {
	t, _ := ctx.Value(toolsTenantKey{}).(string)
	return "child sees " + t, nil
}

// ToolsTenantWorkflow reports the tenant it, its activity and its child see.
func ToolsTenantWorkflow(ctx workflow.Context) ([]string, error) {
	t, _ := ctx.Value(toolsTenantKey{}).(string)
	a, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, ToolsTenantActivity).Get(ctx)
	if err != nil {
		return nil, err
	}
	c, err := workflow.CreateSubWorkflowInstance[string](ctx, workflow.SubWorkflowOptions{}, ToolsTenantChild).Get(ctx)
	return []string{"workflow sees " + t, a, c}, err
}

// A value of the client's context reaches the workflow, its activity and
// its child through a ContextPropagator, across processes' boundaries
// (headers on the events), with the executor cache and with replays.
func TestContextPropagation(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		opts.ContextPropagators = []workflow.ContextPropagator{toolsTenantPropagator{}}
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(ToolsTenantWorkflow))
			must(t, w.RegisterWorkflow(ToolsTenantChild))
			must(t, w.RegisterActivity(ToolsTenantActivity))
		})
		c := client.NewWithOptions(e.b, &client.Options{ContextPropagators: []workflow.ContextPropagator{toolsTenantPropagator{}}})
		ctx := context.WithValue(ctxFor(t), toolsTenantKey{}, "acme")
		inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, ToolsTenantWorkflow)
		require.NoError(t, err)
		out, err := client.GetWorkflowResult[[]string](ctx, c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"workflow sees acme", "activity sees acme", "child sees acme"}, out)
	})
}

// ToolsAsyncHeartbeatWorkflow calls ToolsAsync with a heartbeat timeout
// of 3 s inside a minute's StartToClose, and reports its outcome.
func ToolsAsyncHeartbeatWorkflow(ctx workflow.Context, id string) (string, error) {
	opts := workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 3 * time.Second}
	s, err := workflow.ExecuteActivity[string](ctx, opts, ToolsAsync, id).Get(ctx)
	if err != nil {
		var we *workflow.Error
		if errors.As(err, &we) {
			return "failed: " + we.Type + ": " + we.Message, nil
		}
		return "failed: " + err.Error(), nil
	}
	return "done: " + s, nil
}

// An outside system keeps an asynchronous call alive past its heartbeat
// timeout by heartbeating; one that falls silent fails it with a
// heartbeat timeout long before its StartToClose; a heartbeat for a call
// completed through the client is told so.
func TestAsyncActivityHeartbeats(t *testing.T) {
	e := newEnv(t, worker.Options{PollWait: 200 * time.Millisecond}, func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(ToolsAsyncHeartbeatWorkflow))
		must(t, w.RegisterActivity(ToolsAsync))
	})
	ctx := ctxFor(t)
	start := func(id string) (*workflow.Instance, []byte) {
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, ToolsAsyncHeartbeatWorkflow, id)
		require.NoError(t, err)
		select {
		case token := <-toolsTokens:
			return inst, token
		case <-ctx.Done():
			t.Fatal("no token")
			return nil, nil
		}
	}

	inst, token := start(uniqueID("async-hb"))
	began := time.Now()
	for time.Since(began) < 5*time.Second { // past the 3 s heartbeat timeout
		require.NoError(t, e.c.RecordActivityHeartbeat(ctx, token))
		time.Sleep(300 * time.Millisecond) // the outside system's pace, not a wait for a condition
	}
	require.NoError(t, e.c.CompleteActivity(ctx, token, "shipped"))
	res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "done: shipped", res)
	assert.ErrorIs(t, e.c.RecordActivityHeartbeat(ctx, token), client.ErrActivityNotPending)

	inst, token = start(uniqueID("async-silent"))
	res, err = client.GetWorkflowResult[string](ctx, e.c, inst, 30*time.Second) // well inside the minute's StartToClose
	require.NoError(t, err)
	assert.Equal(t, "failed: Timeout: activity ToolsAsync: heartbeat timeout of 3s exceeded", res)
	require.NoError(t, e.c.RecordActivityHeartbeat(ctx, token), "after a timeout a heartbeat is accepted and ignored")
}
