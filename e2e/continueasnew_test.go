package e2e

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Counter counts to target one run at a time: each run does one activity
// and continues as new with the count, naming the run it continues.
func Counter(ctx workflow.Context, count, target int, previous string) (int, error) {
	info := workflow.GetInfo(ctx)
	if info.ContinuedExecutionID != previous {
		return 0, fmt.Errorf("run %d continues %q, want %q", count, info.ContinuedExecutionID, previous)
	}
	if count == target {
		return count, nil
	}
	next, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Add, count, 1).Get(ctx)
	if err != nil {
		return 0, err
	}
	return 0, workflow.ContinueAsNew(ctx, next, target, info.ExecutionID)
}

func TestContinueAsNewHundredTimes(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Counter))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: uniqueID("counter")}, Counter, 0, 100, "")
		require.NoError(t, err)

		// The instance as first returned names its first run: the result
		// follows it to the last.
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 50*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 100, res)

		d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
		require.NoError(t, err)
		assert.Len(t, d.Runs, 100, "earlier runs")
		assert.Equal(t, inst.ExecutionID, d.Runs[0])
		assert.Equal(t, d.Runs[99], d.ContinuedExecutionID)
		assert.Equal(t, "completed", string(d.Status))
		assert.Equal(t, 2, d.HistoryEvents, "the last run's history: started and completed")
		assert.Positive(t, d.HistoryBytes)

		// Each earlier run ended by continuing as new.
		h, err := e.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: inst.InstanceID, ExecutionID: d.Runs[42]})
		require.NoError(t, err)
		assert.Equal(t, "WorkflowContinuedAsNew", h.Events[len(h.Events)-1].Kind.String())
	})
}

// Accumulator adds up signals, taking one per run and continuing as new
// after each, so most signals arrive while a run is ending or the next
// one starting.
func Accumulator(ctx workflow.Context, sum, received, expected int) (int, error) {
	if received == expected {
		return sum, nil
	}
	v, _ := workflow.NewSignalChannel[int](ctx, "add").Receive(ctx)
	return 0, workflow.ContinueAsNew(ctx, sum+v, received+1, expected)
}

func TestSignalsDuringContinueAsNewAreNotLost(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Accumulator)) })
		ctx := ctxFor(t)
		const n = 40
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: uniqueID("acc")}, Accumulator, 0, 0, n)
		require.NoError(t, err)
		var wg sync.WaitGroup
		want := 0
		for i := 1; i <= n; i++ {
			want += i
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "add", i))
			}()
		}
		wg.Wait()
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 40*time.Second)
		if err != nil {
			e.dumpHistory(t, inst.InstanceID)
		}
		require.NoError(t, err)
		assert.Equal(t, want, res, "every signal applied exactly once")
	})
}

// Ticker continues as new every tick until canceled; canceled, it reports
// how many runs it went through.
func Ticker(ctx workflow.Context, runs int) (int, error) {
	if err := workflow.Sleep(ctx, 50*time.Millisecond); err != nil {
		if errors.Is(err, workflow.Canceled) {
			return runs, workflow.Canceled
		}
		return 0, err
	}
	return 0, workflow.ContinueAsNew(ctx, runs+1)
}

// CountingParent starts a Counter child that continues as new, and a
// Ticker child it cancels after a while.
func CountingParent(ctx workflow.Context) (string, error) {
	id := workflow.GetInfo(ctx).InstanceID
	counted, err := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{InstanceID: id + "-counter"}, Counter, 0, 5, "").Get(ctx)
	if err != nil {
		return "", err
	}
	tctx, cancel := workflow.WithCancel(ctx)
	ticker := workflow.CreateSubWorkflowInstance[int](tctx, workflow.SubWorkflowOptions{InstanceID: id + "-ticker", WaitForCancellation: true}, Ticker, 0)
	if err := workflow.Sleep(ctx, 600*time.Millisecond); err != nil {
		return "", err
	}
	cancel()
	_, err = ticker.Get(ctx)
	return fmt.Sprintf("counted %d, ticker: %v", counted, errors.Is(err, workflow.Canceled)), nil
}

func TestSubWorkflowContinuesAsNew(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(CountingParent))
			must(t, w.RegisterWorkflow(Counter))
			must(t, w.RegisterWorkflow(Ticker))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: uniqueID("cparent")}, CountingParent)
		require.NoError(t, err)
		res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 30*time.Second)
		if err != nil {
			e.dumpHistory(t, inst.InstanceID)
		}
		require.NoError(t, err)
		assert.Equal(t, "counted 5, ticker: true", res)

		d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID+"-ticker")
		require.NoError(t, err)
		assert.Equal(t, "canceled", string(d.Status))
		assert.NotEmpty(t, d.Runs, "the ticker was canceled in a later run than its first")
	})
}

// Looper runs activities forever, so only the history limit ends it.
func Looper(ctx workflow.Context) error {
	for i := 0; ; i++ {
		if _, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, Add, i, 1).Get(ctx); err != nil {
			return err
		}
	}
}

func TestHistoryLimit(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		opts.MaxHistoryLength = 30
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(Looper))
			must(t, w.RegisterActivity(Add))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Looper)
		require.NoError(t, err)
		_, err = client.GetWorkflowResult[struct{}](ctx, e.c, inst, 30*time.Second)
		var we *workflow.Error
		require.ErrorAs(t, err, &we)
		assert.Equal(t, workflow.ErrTypeHistoryLimit, we.Type)
		assert.Contains(t, we.Message, "workflow.ContinueAsNew")

		d, err := e.c.DescribeWorkflowInstance(ctx, inst.InstanceID)
		require.NoError(t, err)
		assert.Equal(t, "failed", string(d.Status))
		// Each task adds 2 events; the one that passed 30 is followed by the failure.
		assert.Equal(t, 1+16+15+1, d.HistoryEvents, "started, 16 activities scheduled, 15 completed, the failure")
		assert.Positive(t, d.HistoryBytes)
	})
}

func TestCancelFollowsTheInstanceToItsLatestRun(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		e := newEnv(t, opts, func(w *worker.Worker) { must(t, w.RegisterWorkflow(Ticker)) })
		ctx := ctxFor(t)
		first, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Ticker, 0)
		require.NoError(t, err)
		waitFor(t, 10*time.Second, "a few runs", func() bool {
			d, err := e.c.DescribeWorkflowInstance(ctx, first.InstanceID)
			return err == nil && len(d.Runs) >= 3
		})
		// The handle names the first run, long ended: the cancel goes to
		// the run that is current now.
		require.NoError(t, e.c.CancelWorkflowInstance(ctx, first))
		_, err = client.GetWorkflowResult[int](ctx, e.c, first, 20*time.Second)
		require.ErrorIs(t, err, client.ErrWorkflowCanceled)
		d, err := e.c.DescribeWorkflowInstance(ctx, first.InstanceID)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(d.Runs), 3)
		assert.Equal(t, first.ExecutionID, d.Runs[0])
	})
}
