package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// SlowDouble is an activity that takes its time (d) and doubles n.
func SlowDouble(ctx context.Context, n int, d time.Duration) (int, error) {
	select {
	case <-time.After(d):
		return 2 * n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// UpdCart takes updates until a "checkout" signal, waits for its running
// handlers, and returns its total.
//   - "add" adds n > 0 (a validator rejects the rest) and returns the total;
//   - "slow-add" adds twice n, doubled by an activity taking d;
//   - "gate" waits for an "open" signal, counts its runs and returns the count;
//   - "sold-out" fails with a typed error;
//   - "forever" waits for a day.
func UpdCart(ctx workflow.Context, waitHandlers bool) (int, error) {
	total, gates := 0, 0
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(workflow.SetUpdateHandlerWithOptions(ctx, "add", func(ctx workflow.Context, n int) (int, error) {
		total += n
		return total, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
		if n <= 0 {
			return fmt.Errorf("amount %d is not positive", n)
		}
		return nil
	}}))
	must(workflow.SetUpdateHandler(ctx, "slow-add", func(ctx workflow.Context, n int, d time.Duration) (int, error) {
		opts := workflow.DefaultActivityOptions
		opts.StartToCloseTimeout = d + 30*time.Second
		r, err := workflow.ExecuteActivity[int](ctx, opts, SlowDouble, n, d).Get(ctx)
		if err != nil {
			return 0, err
		}
		total += r
		return total, nil
	}))
	open := workflow.NewSignalChannel[struct{}](ctx, "open")
	must(workflow.SetUpdateHandler(ctx, "gate", func(ctx workflow.Context) (int, error) {
		open.Receive(ctx)
		gates++
		return gates, nil
	}))
	must(workflow.SetUpdateHandler(ctx, "sold-out", func(ctx workflow.Context) error {
		return workflow.NewError("SoldOut", "nothing left")
	}))
	must(workflow.SetUpdateHandler(ctx, "forever", func(ctx workflow.Context) error {
		return workflow.Sleep(ctx, 24*time.Hour)
	}))
	workflow.NewSignalChannel[struct{}](ctx, "checkout").Receive(ctx)
	if waitHandlers {
		if err := workflow.AwaitAllHandlersFinished(ctx); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func registerCart(t *testing.T) func(w *worker.Worker) {
	return func(w *worker.Worker) {
		must(t, w.RegisterWorkflow(UpdCart))
		must(t, w.RegisterActivity(SlowDouble))
	}
}

// updateEvents counts the update events of a run's history.
func updateEvents(t *testing.T, e *env, inst *workflow.Instance) (accepted, completed map[string]int) {
	t.Helper()
	h, err := e.b.ReadHistory(ctxFor(t), inst.InstanceID, inst.ExecutionID)
	require.NoError(t, err)
	accepted, completed = map[string]int{}, map[string]int{}
	for _, ev := range h.Events() {
		switch ev.Kind {
		case history.UpdateAccepted:
			accepted[ev.UpdateID]++
		case history.UpdateCompleted:
			completed[ev.UpdateID]++
		case history.UpdateRequested:
			t.Fatalf("the history holds an UpdateRequested: %+v", ev)
		}
	}
	return accepted, completed
}

func TestUpdateRejectedAndCompleted(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, registerCart(t))
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UpdCart, true)
		require.NoError(t, err)
		upd := func(name, id string, args ...any) (int, error) {
			return client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: name, UpdateID: id}, args...)
		}

		_, err = upd("add", "neg", -5)
		require.ErrorIs(t, err, client.ErrUpdateRejected)
		assert.Contains(t, err.Error(), "amount -5 is not positive")
		_, err = upd("nope", "", 1)
		require.ErrorIs(t, err, client.ErrUpdateRejected)
		assert.Contains(t, err.Error(), `no handler for update "nope"`)
		accepted, completed := updateEvents(t, e, inst)
		assert.Empty(t, accepted, "a rejected update leaves no trace in the history")
		assert.Empty(t, completed)

		got, err := upd("add", "a1", 5)
		require.NoError(t, err)
		assert.Equal(t, 5, got)
		// The same ID again: the recorded outcome, not a second run.
		got, err = upd("add", "a1", 5)
		require.NoError(t, err)
		assert.Equal(t, 5, got)
		// A rejected ID may be accepted later: nothing was recorded.
		got, err = upd("add", "neg", 2)
		require.NoError(t, err)
		assert.Equal(t, 7, got)

		_, err = upd("sold-out", "")
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, "SoldOut", we.Type)
		assert.Equal(t, "nothing left", we.Message)

		accepted, _ = updateEvents(t, e, inst)
		assert.Equal(t, 1, accepted["a1"])
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "checkout", struct{}{}))
		total, err := client.GetWorkflowResult[int](ctx, e.c, inst, 0)
		require.NoError(t, err)
		assert.Equal(t, 7, total)

		// After the end: a known ID still gets its outcome, a new update
		// ErrInstanceFinished.
		got, err = upd("add", "a1", 5)
		require.NoError(t, err)
		assert.Equal(t, 5, got)
		_, err = upd("add", "late", 1)
		require.ErrorIs(t, err, client.ErrInstanceFinished)
		_, err = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{
			Instance: &workflow.Instance{InstanceID: "no-such-cart"}, Name: "add"}, 1)
		require.ErrorIs(t, err, client.ErrInstanceNotFound)
	})
}

// A handler that runs a 10 s activity; meanwhile other updates to the run
// are answered at once (handlers run side by side), and the workflow waits
// for the slow handler before it returns.
func TestUpdateLongRunningHandler(t *testing.T) {
	e := newEnv(t, worker.Options{TaskRetryDelay: 50 * time.Millisecond}, registerCart(t))
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UpdCart, true)
	require.NoError(t, err)
	slow := make(chan error, 1)
	var slowTotal int
	start := time.Now()
	go func() {
		var err error
		slowTotal, err = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "slow-add"}, 50, 10*time.Second)
		slow <- err
	}()
	waitFor(t, 10*time.Second, "the slow update is accepted", func() bool {
		accepted, _ := updateEvents(t, e, inst)
		return len(accepted) == 1
	})
	got, err := client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "add"}, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, got)
	d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
	require.NoError(t, err)
	require.Len(t, d.Pending.Updates, 1, "describe lists the running handler")
	assert.Equal(t, "slow-add", d.Pending.Updates[0].Name)
	require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "checkout", struct{}{}))
	require.NoError(t, <-slow)
	assert.GreaterOrEqual(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 101, slowTotal)
	total, err := client.GetWorkflowResult[int](ctx, e.c, inst, 0)
	require.NoError(t, err)
	assert.Equal(t, 101, total)
}

func TestUpdateHundredConcurrent(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, registerCart(t))
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UpdCart, true)
		require.NoError(t, err)
		const n = 100
		results := make([]int, n+1)
		errs := make([]error, n+1)
		var wg sync.WaitGroup
		for i := 1; i <= n; i++ {
			wg.Go(func() {
				results[i], errs[i] = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{
					Instance: inst, Name: "add", UpdateID: fmt.Sprintf("add-%d", i)}, i)
			})
		}
		wg.Wait()
		seen := map[int]bool{}
		for i := 1; i <= n; i++ {
			require.NoError(t, errs[i], "update %d", i)
			// Each result is the total right after its own addition:
			// all differ, and each includes its own amount.
			assert.False(t, seen[results[i]], "result %d twice", results[i])
			seen[results[i]] = true
			assert.GreaterOrEqual(t, results[i], i)
		}
		assert.True(t, seen[n*(n+1)/2], "the last update sees the full total")
		accepted, completed := updateEvents(t, e, inst)
		assert.Len(t, accepted, n)
		assert.Len(t, completed, n)
		for id, k := range accepted {
			assert.Equal(t, 1, k, "update %s accepted %d times", id, k)
		}
		require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "checkout", struct{}{}))
		total, err := client.GetWorkflowResult[int](ctx, e.c, inst, 0)
		require.NoError(t, err)
		assert.Equal(t, n*(n+1)/2, total)
	})
}

// A caller whose connection drops mid-call retries with the same update
// ID on a new connection: the update is applied once and the retry gets
// its result.
func TestUpdateRetriedAfterConnectionDrop(t *testing.T) {
	e := newEnv(t, worker.Options{TaskRetryDelay: 50 * time.Millisecond}, registerCart(t))
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UpdCart, true)
	require.NoError(t, err)

	nc := testenv.Conn(t, e.srv)
	b1 := testenv.Backend(t, nc, streams.WithNamespace(e.b.Namespace()))
	first := make(chan error, 1)
	go func() {
		_, err := client.UpdateWorkflow[int](ctx, client.New(b1), client.UpdateOptions{Instance: inst, Name: "gate", UpdateID: "gate-1"})
		first <- err
	}()
	waitFor(t, 10*time.Second, "the gate update is accepted", func() bool {
		accepted, _ := updateEvents(t, e, inst)
		return accepted["gate-1"] == 1
	})
	nc.Close()
	require.Error(t, <-first, "the first call ends with its connection")

	second := make(chan error, 1)
	var got int
	go func() {
		var err error
		got, err = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "gate", UpdateID: "gate-1"})
		second <- err
	}()
	require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "open", struct{}{}))
	require.NoError(t, <-second)
	assert.Equal(t, 1, got, "the handler ran once")
	again, err := client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "gate", UpdateID: "gate-1"})
	require.NoError(t, err)
	assert.Equal(t, 1, again)
	accepted, completed := updateEvents(t, e, inst)
	assert.Equal(t, 1, accepted["gate-1"])
	assert.Equal(t, 1, completed["gate-1"])
}

// Updates racing the run's end: each is either applied (and counted in the
// result) or answered ErrInstanceFinished; none hangs, none is lost. An
// update whose handler still runs when the run ends gets
// ErrInstanceFinished too.
func TestUpdateRacingTheEnd(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, registerCart(t))
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, UpdCart, false)
		require.NoError(t, err)
		forever := make(chan error, 1)
		go func() {
			_, err := client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "forever"})
			forever <- err
		}()
		waitFor(t, 10*time.Second, "the forever update is accepted", func() bool {
			accepted, _ := updateEvents(t, e, inst)
			return len(accepted) == 1
		})

		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n+1)
		for i := 1; i <= n; i++ {
			wg.Go(func() {
				_, errs[i] = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "add"}, i)
			})
			if i == n/2 {
				require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "checkout", struct{}{}))
			}
		}
		wg.Wait()
		total, err := client.GetWorkflowResult[int](ctx, e.c, inst, 0)
		require.NoError(t, err)
		applied := 0
		for i := 1; i <= n; i++ {
			if errs[i] == nil {
				applied += i
				continue
			}
			require.ErrorIs(t, errs[i], client.ErrInstanceFinished, "update %d", i)
		}
		assert.Equal(t, total, applied, "the applied updates are exactly those in the result")
		err = <-forever
		require.ErrorIs(t, err, client.ErrInstanceFinished)
		assert.True(t, !errors.Is(err, client.ErrUpdateRejected))
	})
}

// SigCart collects want "add" signals and returns their sum and count.
func SigCart(ctx workflow.Context, want int) ([]int, error) {
	ch := workflow.NewSignalChannel[int](ctx, "add")
	var got []int
	for len(got) < want {
		v, _ := ch.Receive(ctx)
		got = append(got, v)
	}
	return got, nil
}

func TestSignalWithStartRaced(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(SigCart))
			must(t, w.RegisterWorkflow(UpdCart))
		})
		ctx := ctxFor(t)
		const n = 20
		runs := make([]string, n+1)
		var wg sync.WaitGroup
		for i := 1; i <= n; i++ {
			wg.Go(func() {
				inst, err := e.c.SignalWithStartWorkflow(ctx, client.WorkflowInstanceOptions{InstanceID: "sws-cart"},
					SigCart, []any{n}, "add", i)
				if assert.NoError(t, err, "caller %d", i) {
					runs[i] = inst.ExecutionID
				}
			})
		}
		wg.Wait()
		for i := 2; i <= n; i++ {
			assert.Equal(t, runs[1], runs[i], "caller %d got another run", i)
		}
		got, err := client.GetWorkflowResult[[]int](ctx, e.c, &workflow.Instance{InstanceID: "sws-cart"}, 0)
		require.NoError(t, err)
		assert.ElementsMatch(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, got)
		rec, err := e.b.GetInstance(ctx, "sws-cart")
		require.NoError(t, err)
		assert.Empty(t, rec.Runs, "one run")

		// The instance has finished: the next signal-with-start starts a
		// new run.
		inst, err := e.c.SignalWithStartWorkflow(ctx, client.WorkflowInstanceOptions{InstanceID: "sws-cart"}, SigCart, []any{1}, "add", 7)
		require.NoError(t, err)
		assert.NotEqual(t, runs[1], inst.ExecutionID)
		got, err = client.GetWorkflowResult[[]int](ctx, e.c, inst, 0)
		require.NoError(t, err)
		assert.Equal(t, []int{7}, got)

		// Update-with-start: 10 callers, one run, every update applied.
		results := make([]int, 11)
		for i := 1; i <= 10; i++ {
			wg.Go(func() {
				r, _, err := client.UpdateWithStartWorkflow[int](ctx, e.c, client.WorkflowInstanceOptions{InstanceID: "uws-cart"},
					UpdCart, []any{true}, client.UpdateOptions{Name: "add"}, i)
				assert.NoError(t, err, "caller %d", i)
				results[i] = r
			})
		}
		wg.Wait()
		require.NoError(t, e.c.SignalWorkflow(ctx, "uws-cart", "checkout", struct{}{}))
		total, err := client.GetWorkflowResult[int](ctx, e.c, &workflow.Instance{InstanceID: "uws-cart"}, 0)
		require.NoError(t, err)
		assert.Equal(t, 55, total)
		assert.Contains(t, results, 55)
		rec, err = e.b.GetInstance(ctx, "uws-cart")
		require.NoError(t, err)
		assert.Empty(t, rec.Runs, "one run")
	})
}

// UpdCartV2 is UpdCart after a change that dropped the "add" handler.
func UpdCartV2(ctx workflow.Context, waitHandlers bool) (int, error) {
	workflow.NewSignalChannel[struct{}](ctx, "checkout").Receive(ctx)
	return 0, nil
}

// A stored run with updates replays against its code, and against code
// without the handler fails with a non-determinism error naming the
// update.
func TestUpdateReplay(t *testing.T) {
	e := newEnv(t, worker.Options{TaskRetryDelay: 50 * time.Millisecond}, registerCart(t))
	ctx := ctxFor(t)
	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "replay-cart"}, UpdCart, true)
	require.NoError(t, err)
	_, err = client.UpdateWorkflow[int](ctx, e.c, client.UpdateOptions{Instance: inst, Name: "add", UpdateID: "r1"}, 3)
	require.NoError(t, err)
	require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "checkout", struct{}{}))
	_, err = client.GetWorkflowResult[int](ctx, e.c, inst, 0)
	require.NoError(t, err)

	same := worker.NewReplayer(nil)
	must(t, same.RegisterWorkflow(UpdCart))
	require.NoError(t, same.ReplayInstance(ctx, e.b, inst.InstanceID))

	changed := worker.NewReplayer(nil)
	must(t, changed.RegisterWorkflow(UpdCartV2, worker.WithName("UpdCart")))
	err = changed.ReplayInstance(ctx, e.b, inst.InstanceID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `update "add"`)
	assert.Contains(t, err.Error(), `"r1"`)
}
