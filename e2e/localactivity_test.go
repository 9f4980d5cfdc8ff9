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
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// localCalls counts the attempts of the local activities below, by key.
var localCalls = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func countLocal(key string) int {
	localCalls.Lock()
	defer localCalls.Unlock()
	localCalls.n[key]++
	return localCalls.n[key]
}

func localCount(key string) int {
	localCalls.Lock()
	defer localCalls.Unlock()
	return localCalls.n[key]
}

// LocalDouble is registered with the worker; it counts its calls.
func LocalDouble(ctx context.Context, key string, n int) (int, error) {
	countLocal(key)
	if !activity.GetInfo(ctx).IsLocalActivity {
		return 0, errors.New("not told it is a local activity")
	}
	return 2 * n, nil
}

// localGreet is never registered: the function value itself runs.
func localGreet(ctx context.Context, key, name string) (string, error) {
	countLocal(key)
	return "hello " + name, nil
}

// LocalTwice runs two local activities, then waits for a signal (a second
// task, which replays them with the cache off), then one more.
func LocalTwice(ctx workflow.Context, key string) (string, error) {
	opts := workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second}
	d, err := workflow.ExecuteLocalActivity[int](ctx, opts, LocalDouble, key+"/double", 21).Get(ctx)
	if err != nil {
		return "", err
	}
	g, err := workflow.ExecuteLocalActivity[string](ctx, opts, localGreet, key+"/greet", "ann").Get(ctx)
	if err != nil {
		return "", err
	}
	workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	d2, err := workflow.ExecuteLocalActivity[int](ctx, opts, "LocalDouble", key+"/double2", d).Get(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %s %d", d, g, d2), nil
}

func localEvents(t *testing.T, c *client.Client, inst *workflow.Instance) (locals []history.Event, activityTasks int) {
	t.Helper()
	h, err := c.GetWorkflowHistory(ctxFor(t), inst)
	require.NoError(t, err)
	for _, ev := range h.Events {
		switch ev.Kind {
		case history.LocalActivityCompleted, history.LocalActivityFailed:
			locals = append(locals, ev)
		case history.ActivityScheduled:
			activityTasks++
		}
	}
	return locals, activityTasks
}

// A local activity's result is recorded as one event, committed with the
// task; the task after it (which replays the run when the cache is off)
// does not run it again.
func TestLocalActivityRecordedOnce(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(LocalTwice))
			must(t, w.RegisterActivity(LocalDouble))
		})
		ctx := ctxFor(t)
		key := uniqueID(t.Name())
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, LocalTwice, key)
		require.NoError(t, err)
		waitFor(t, 20*time.Second, "the first task's local activities", func() bool {
			locals, _ := localEvents(t, e.c, inst)
			return len(locals) == 2
		})
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", ""))
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, "42 hello ann 84", res)
		for _, k := range []string{"/double", "/greet", "/double2"} {
			assert.Equal(t, 1, localCount(key+k), "calls of %s", k)
		}
		locals, tasks := localEvents(t, e.c, inst)
		assert.Zero(t, tasks, "no activity task is scheduled")
		require.Len(t, locals, 3)
		for i, ev := range locals {
			assert.Equal(t, history.LocalActivityCompleted, ev.Kind)
			require.NotNil(t, ev.Local)
			assert.Equal(t, int64(i+1), ev.Local.Seq)
			assert.Equal(t, 1, ev.Local.Attempt)
		}
		assert.Equal(t, "localGreet", locals[1].Name)
	})
}

// LocalBlockUntilSignal runs a local activity, then waits for a signal.
func LocalBlockUntilSignal(ctx workflow.Context, key string) (int, error) {
	d, err := workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{}, LocalDouble, key, 5).Get(ctx)
	if err != nil {
		return 0, err
	}
	workflow.NewSignalChannel[string](ctx, "go").Receive(ctx)
	return d, nil
}

// A worker that stops after the task that ran a local activity committed:
// the worker after it replays the recorded result and does not run it.
func TestLocalActivityNotRerunAfterWorkerRestart(t *testing.T) {
	opts := worker.Options{PollWait: 200 * time.Millisecond, TaskRetryDelay: 50 * time.Millisecond}
	register := func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(LocalBlockUntilSignal))
		must(t, w.RegisterActivity(LocalDouble))
	}
	e := newEnv(t, opts, register)
	ctx := ctxFor(t)
	key := uniqueID(t.Name())
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, LocalBlockUntilSignal, key)
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "the local activity's event", func() bool {
		locals, _ := localEvents(t, e.c, inst)
		return len(locals) == 1
	})
	e.cancel()
	e.startWorker(register) // a fresh worker: empty cache
	require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "go", ""))
	res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 10, res)
	assert.Equal(t, 1, localCount(key))
}

// localFlaky fails until its third attempt.
func localFlaky(ctx context.Context, key string) (int, error) {
	n := countLocal(key)
	if activity.Attempt(ctx) != n {
		return 0, workflow.NewPermanentError(fmt.Errorf("attempt %d, call %d", activity.Attempt(ctx), n))
	}
	if n < 3 {
		return 0, fmt.Errorf("flaky %d", n)
	}
	return n, nil
}

// localPanics panics.
func localPanics(ctx context.Context) (int, error) {
	var m map[string]int
	m["x"] = 1
	return 0, nil
}

// localSlow runs past its timeout and ignores its context.
func localSlow(ctx context.Context, key string) (int, error) {
	countLocal(key)
	time.Sleep(3 * time.Second)
	return 1, nil
}

// localWaits returns when its context ends.
func localWaits(ctx context.Context, key string) (int, error) {
	countLocal(key)
	<-ctx.Done()
	countLocal(key + "/ended")
	return 0, ctx.Err()
}

// LocalFailures runs the local activity `which` and describes its outcome.
func LocalFailures(ctx workflow.Context, which, key string) (string, error) {
	once := workflow.RetryOptions{MaxAttempts: 1}
	var err error
	var n int
	switch which {
	case "retry":
		n, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{
			RetryOptions: workflow.RetryOptions{FirstRetryInterval: 10 * time.Millisecond},
		}, localFlaky, key).Get(ctx)
	case "timer":
		// Each backoff is over the worker's in-task threshold: a timer.
		n, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{
			RetryOptions: workflow.RetryOptions{FirstRetryInterval: 200 * time.Millisecond},
		}, localFlaky, key).Get(ctx)
	case "panic":
		n, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{RetryOptions: once}, localPanics).Get(ctx)
	case "timeout":
		n, err = workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 100 * time.Millisecond, RetryOptions: once,
		}, localSlow, key).Get(ctx)
	case "cancel":
		cctx, cancel := workflow.WithCancel(ctx)
		waiting := workflow.ExecuteLocalActivity[int](cctx, workflow.LocalActivityOptions{}, localWaits, key)
		if _, err := workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{}, LocalDouble, key+"/first", 1).Get(ctx); err != nil {
			return "", err
		}
		cancel()
		n, err = waiting.Get(ctx)
	}
	if err == nil {
		return fmt.Sprintf("ok %d", n), nil
	}
	var p *workflow.PanicError
	if errors.As(err, &p) {
		return "panic with stack: " + fmt.Sprint(strings.Contains(p.Stack, "localPanics")), nil
	}
	var we *workflow.Error
	if errors.As(err, &we) && we.Type == workflow.ErrTypeTimeout {
		return "timeout", nil
	}
	if errors.Is(err, workflow.Canceled) {
		return "canceled", nil
	}
	return "", err
}

// Retries inside the task, a retry after a timer, a panic, a timeout and a
// cancel, on a real server.
func TestLocalActivityFailures(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		opts.LocalRetryThreshold = 100 * time.Millisecond
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(LocalFailures))
			must(t, w.RegisterActivity(LocalDouble))
		})
		for _, tc := range []struct {
			which, want string
			locals      []history.Kind
			timers      int
		}{
			{"retry", "ok 3", []history.Kind{history.LocalActivityCompleted}, 0},
			{"timer", "ok 3", []history.Kind{history.LocalActivityFailed, history.LocalActivityFailed, history.LocalActivityCompleted}, 2},
			{"panic", "panic with stack: true", []history.Kind{history.LocalActivityFailed}, 0},
			{"timeout", "timeout", []history.Kind{history.LocalActivityFailed}, 0},
			{"cancel", "canceled", []history.Kind{history.LocalActivityCompleted}, 0},
		} {
			t.Run(tc.which, func(t *testing.T) {
				ctx := ctxFor(t)
				key := uniqueID(t.Name())
				inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, LocalFailures, tc.which, key)
				require.NoError(t, err)
				res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
				require.NoError(t, err)
				assert.Equal(t, tc.want, res)
				h, err := e.c.GetWorkflowHistory(ctx, inst)
				require.NoError(t, err)
				var kinds []history.Kind
				timers := 0
				for _, ev := range h.Events {
					switch ev.Kind {
					case history.LocalActivityCompleted, history.LocalActivityFailed:
						kinds = append(kinds, ev.Kind)
					case history.TimerScheduled:
						timers++
					}
				}
				assert.Equal(t, tc.locals, kinds)
				assert.Equal(t, tc.timers, timers)
				switch tc.which {
				case "retry", "timer":
					assert.Equal(t, 3, localCount(key), "attempts")
				case "timeout":
					assert.Equal(t, 1, localCount(key), "attempts")
				case "cancel":
					waitFor(t, 5*time.Second, "the canceled local activity's context to end", func() bool { return localCount(key+"/ended") == 1 })
				}
			})
		}
	})
}
