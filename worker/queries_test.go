package worker

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/workflow"
)

// counterRelease unblocks counterWorkflow's "block" query handler; the
// test that uses it makes a new one.
var counterRelease = make(chan struct{})

// counterWorkflow counts "add" signals until it has n of them. Queries:
// "count"; "boom" panics; "block" waits for counterRelease.
func counterWorkflow(ctx workflow.Context, n int) (int, error) {
	count := 0
	if err := workflow.SetQueryHandler(ctx, "count", func() (int, error) { return count, nil }); err != nil {
		return 0, err
	}
	if err := workflow.SetQueryHandler(ctx, "boom", func() (int, error) { panic("boom") }); err != nil {
		return 0, err
	}
	if err := workflow.SetQueryHandler(ctx, "block", func() (int, error) { <-counterRelease; return count, nil }); err != nil {
		return 0, err
	}
	ch := workflow.NewSignalChannel[int](ctx, "add")
	for count < n {
		ch.Receive(ctx)
		count++
	}
	return count, nil
}

func newCounterEnv(t *testing.T, opts *Options) *testEnv {
	return newTestEnv(t, opts, func(w *Worker) { require.NoError(t, w.RegisterWorkflow(counterWorkflow)) })
}

// queryCount queries "count".
func (e *testEnv) queryCount(t *testing.T, inst *workflow.Instance) int {
	t.Helper()
	n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "count")
	require.NoError(t, err)
	return n
}

// waitWarm waits until the instance's count query answers want and the
// task that got there has put its executor back into the cache.
func (e *testEnv) waitWarm(t *testing.T, inst *workflow.Instance, want int) {
	t.Helper()
	e.waitCount(t, inst, want)
	require.Eventually(t, func() bool { return e.w.cache.len() == 1 }, 10*time.Second, 5*time.Millisecond)
}

// waitCount waits until the instance's count query answers want (before
// the run's start, queries fail).
func (e *testEnv) waitCount(t *testing.T, inst *workflow.Instance, want int) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "count")
		return err == nil && n == want
	}, 10*time.Second, 5*time.Millisecond)
}

func TestQueryOnAWarmInstanceDoesNotReplay(t *testing.T) {
	e := newCounterEnv(t, nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, counterWorkflow, 100)
	require.NoError(t, err)
	for signals := 1; signals <= 2; signals++ {
		require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
		// Until the task that took the signal puts its executor back,
		// queries replay: the task is using it.
		e.waitWarm(t, inst, signals)

		before := e.w.queryReplays.Load()
		for range 5 {
			require.Equal(t, signals, e.queryCount(t, inst))
		}
		require.Equal(t, before, e.w.queryReplays.Load(), "queries on a warm instance replayed")
	}
}

func TestQueryFromAStaleCacheReplays(t *testing.T) {
	e := newCounterEnv(t, nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, counterWorkflow, 100)
	require.NoError(t, err)
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
	e.waitWarm(t, inst, 1)

	// Keep the executor that has seen one signal aside while the next
	// task replays and commits the second (as another worker would), then
	// put it back: the cache is now behind the history.
	key := runKey{inst.InstanceID, inst.ExecutionID}
	stale := e.w.cache.take(key)
	require.NotNil(t, stale)
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
	require.Eventually(t, func() bool { return e.w.cache.len() == 1 }, 10*time.Second, 5*time.Millisecond)
	h, err := e.b.ReadHistory(e.ctx, inst.InstanceID, inst.ExecutionID)
	require.NoError(t, err)
	require.Greater(t, h.LastSeq, stale.lastSeq)
	e.w.cache.put(stale)

	before := e.w.queryReplays.Load()
	require.Equal(t, 2, e.queryCount(t, inst), "the query answered from a stale executor")
	require.Equal(t, before+1, e.w.queryReplays.Load())
}

func TestQueriesRacingTasks(t *testing.T) {
	const signals = 60
	e := newCounterEnv(t, nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, counterWorkflow, signals)
	require.NoError(t, err)
	e.waitCount(t, inst, 0)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range signals {
			if err := e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	last := 0
	for last < signals {
		n := e.queryCount(t, inst)
		require.GreaterOrEqual(t, n, last, "a query went back in time")
		require.LessOrEqual(t, n, signals)
		last = n
	}
	wg.Wait()
	got, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, signals, got)
}

func TestFailedQueriesLeaveTheRunWorking(t *testing.T) {
	e := newCounterEnv(t, &Options{BlockedTimeout: 300 * time.Millisecond})
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, counterWorkflow, 3)
	require.NoError(t, err)
	counterRelease = make(chan struct{})
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
	e.waitWarm(t, inst, 1)

	// A handler that panics: an error, and the executor leaves the cache.
	_, err = client.QueryWorkflow[int](e.ctx, e.c, inst, "boom")
	require.ErrorContains(t, err, "boom")
	require.Equal(t, 0, e.w.cache.len())
	e.waitCount(t, inst, 1)

	// A handler that blocks: an error after BlockedTimeout, and the run's
	// tasks go on without waiting for it.
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
	e.waitWarm(t, inst, 2)
	release := counterRelease
	t.Cleanup(func() { close(release) })
	_, err = client.QueryWorkflow[int](e.ctx, e.c, inst, "block")
	require.ErrorContains(t, err, "did not return in time")
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1))
	got, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, 3, got)
}

// BenchmarkQuery is one query's round trip on an instance whose history
// holds about 1,000 events: answered from the warm cached executor, and by
// replaying the history (the cache disabled).
func BenchmarkQuery(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{{"cached", Options{}}, {"replay", Options{DisableExecutorCache: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newTestEnv(b, &mode.opts, func(w *Worker) {
				if err := w.RegisterWorkflow(counterWorkflow); err != nil {
					b.Fatal(err)
				}
			})
			inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, counterWorkflow, 100000)
			if err != nil {
				b.Fatal(err)
			}
			const signals = 999 // with the start: 1,000 events
			for range signals {
				if err := e.c.SignalWorkflow(e.ctx, inst.InstanceID, "add", 1); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(time.Minute)
			for {
				n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "count")
				if err == nil && n == signals {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("count %d, %v; want %d", n, err, signals)
				}
				time.Sleep(10 * time.Millisecond)
			}
			h, err := e.b.ReadHistory(e.ctx, inst.InstanceID, inst.ExecutionID)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "count"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(h.Events())), "events")
		})
	}
}
