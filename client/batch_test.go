package client_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func batchWaiter(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Hour) }

// countEvents counts the events of kind in the current run of id.
func countEvents(t *testing.T, ctx context.Context, b *streams.Backend, id string, kind history.Kind) int {
	t.Helper()
	rec, err := b.GetInstance(ctx, id)
	require.NoError(t, err)
	h, err := b.ReadHistory(ctx, id, rec.ExecutionID)
	require.NoError(t, err)
	n := 0
	for _, e := range h.Events() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// A batch interrupted half-way and run again with the same batch ID acts
// on each instance exactly once.
func TestBatchInterruptedAndRunAgainActsOnEachInstanceOnce(t *testing.T) {
	e := wftest.New(t, wftest.Options{Prefix: "batch", Register: func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(batchWaiter))
	}})
	ctx := testenv.Context(t, 3*time.Minute)
	c, b := e.Client, e.Backend
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("b-%03d", i)
		_, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: ids[i]}, batchWaiter)
		require.NoError(t, err)
	}
	filter := client.BatchFilter{WorkflowName: "batchWaiter"}
	testenv.WaitFor(t, time.Minute, "every instance to run", func() bool {
		got, err := c.BatchCount(ctx, filter)
		return err == nil && got == n
	})

	// Signal: interrupted after half, then run again with the same ID.
	halfway, stop := context.WithCancel(ctx)
	var seen atomic.Int64
	res, err := c.BatchSignal(halfway, filter, client.BatchOptions{BatchID: "sig-1", InFlight: 8, Progress: func(p client.BatchProgress) {
		seen.Store(int64(p.Done))
		if p.Done >= n/2 {
			stop()
		}
	}}, "ping", 1)
	require.ErrorIs(t, err, context.Canceled)
	require.GreaterOrEqual(t, res.Done, n/2)
	require.Less(t, res.Done, n, "the batch was interrupted")
	res, err = c.BatchSignal(ctx, filter, client.BatchOptions{BatchID: "sig-1"}, "ping", 1)
	require.NoError(t, err)
	require.Equal(t, n, res.Total)
	require.Equal(t, n, res.Done)
	for _, id := range ids {
		testenv.WaitFor(t, time.Minute, id+" to get its signal", func() bool {
			return countEvents(t, ctx, b, id, history.SignalReceived) >= 1
		})
	}

	// Cancel: the same, with a batch of its own.
	halfway, stop = context.WithCancel(ctx)
	_, err = c.BatchCancel(halfway, filter, client.BatchOptions{BatchID: "cancel-1", InFlight: 8, Progress: func(p client.BatchProgress) {
		if p.Done >= n/2 {
			stop()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.BatchCancel(ctx, filter, client.BatchOptions{BatchID: "cancel-1"})
	require.NoError(t, err)
	for _, id := range ids {
		testenv.WaitFor(t, time.Minute, id+" to be canceled", func() bool {
			rec, err := b.GetInstance(ctx, id)
			return err == nil && rec.Status == streams.StatusCanceled
		})
	}
	for _, id := range ids {
		require.Equal(t, 1, countEvents(t, ctx, b, id, history.SignalReceived), "%s: signaled once", id)
		require.Equal(t, 1, countEvents(t, ctx, b, id, history.CancelRequested), "%s: asked to cancel once", id)
	}

	got, err := c.BatchCount(ctx, filter)
	require.NoError(t, err)
	require.Zero(t, got, "nothing left running")
}

func TestBatchNeedsABatchID(t *testing.T) {
	e := wftest.New(t, wftest.Options{Prefix: "batch"})
	ctx := testenv.Context(t, time.Minute)
	_, err := e.Client.BatchCancel(ctx, client.BatchFilter{}, client.BatchOptions{})
	require.ErrorContains(t, err, "batch ID is required")
	_, err = e.Client.BatchSignal(ctx, client.BatchFilter{}, client.BatchOptions{BatchID: "x"}, "", nil)
	require.ErrorContains(t, err, "empty signal name")
}

// A batch filter on search attributes and on the ID acts on just the
// instances that match, combined with the workflow filter.
func TestBatchFilterSearchAttributesAndID(t *testing.T) {
	e := wftest.New(t, wftest.Options{Prefix: "batchsa", Register: func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(batchWaiter))
	}})
	ctx := testenv.Context(t, 2*time.Minute)
	c, b := e.Client, e.Backend
	starts := []struct {
		id    string
		attrs map[string]string
	}{
		{"acme-eu-1", map[string]string{"customer": "acme", "region": "eu"}},
		{"acme-eu-2", map[string]string{"customer": "acme", "region": "eu"}},
		{"acme-us-1", map[string]string{"customer": "acme", "region": "us"}},
		{"globex-eu-1", map[string]string{"customer": "globex", "region": "eu"}},
		{"plain-1", nil},
	}
	for _, s := range starts {
		_, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: s.id, SearchAttributes: s.attrs}, batchWaiter)
		require.NoError(t, err)
	}
	testenv.WaitFor(t, time.Minute, "every instance to run", func() bool {
		got, err := c.BatchCount(ctx, client.BatchFilter{WorkflowName: "batchWaiter"})
		return err == nil && got == len(starts)
	})

	for _, tc := range []struct {
		name   string
		filter client.BatchFilter
		want   int
	}{
		{"one pair", client.BatchFilter{SearchAttributes: map[string]string{"customer": "acme"}}, 3},
		{"two pairs", client.BatchFilter{SearchAttributes: map[string]string{"customer": "acme", "region": "eu"}}, 2},
		{"pair and workflow", client.BatchFilter{WorkflowName: "batchWaiter", SearchAttributes: map[string]string{"region": "eu"}}, 3},
		{"pair of another workflow", client.BatchFilter{WorkflowName: "other", SearchAttributes: map[string]string{"region": "eu"}}, 0},
		{"no match", client.BatchFilter{SearchAttributes: map[string]string{"customer": "initech"}}, 0},
		{"id", client.BatchFilter{IDContains: "EU-"}, 3},
		{"id and pair", client.BatchFilter{IDContains: "eu", SearchAttributes: map[string]string{"customer": "acme"}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.BatchCount(ctx, tc.filter)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := c.BatchCount(ctx, client.BatchFilter{SearchAttributes: map[string]string{"bad key": "x"}})
	require.ErrorIs(t, err, streams.ErrInvalidSearchAttribute)

	res, err := c.BatchTerminate(ctx, client.BatchFilter{SearchAttributes: map[string]string{"customer": "acme", "region": "eu"}},
		client.BatchOptions{BatchID: "t-acme-eu"}, "cleanup")
	require.NoError(t, err)
	require.Equal(t, 2, res.Done)
	for _, s := range starts {
		want := streams.StatusRunning
		if s.id == "acme-eu-1" || s.id == "acme-eu-2" {
			want = streams.StatusTerminated
		}
		testenv.WaitFor(t, time.Minute, s.id+" to be "+string(want), func() bool {
			rec, err := b.GetInstance(ctx, s.id)
			return err == nil && rec.Status == want
		})
	}
	got, err := c.BatchCount(ctx, client.BatchFilter{SearchAttributes: map[string]string{"customer": "acme"}})
	require.NoError(t, err)
	require.Equal(t, 1, got, "only acme-us-1 is left running")
}
