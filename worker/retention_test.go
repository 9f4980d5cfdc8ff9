package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

const testRetention = 2 * time.Second

func retainedQuick(_ workflow.Context, n int) (int, error) { return n, nil }

func retainedFail(workflow.Context) error { return workflow.NewError("boom", "it fails") }

func retainedWait(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Hour) }

func retentionEnv(t *testing.T) *wftest.Env {
	return wftest.New(t, wftest.Options{
		Prefix:  "retention",
		Streams: []streams.Option{streams.WithRetention(testRetention)},
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(retainedQuick))
			require.NoError(t, w.RegisterWorkflow(retainedFail))
			require.NoError(t, w.RegisterWorkflow(retainedWait))
		},
	})
}

// waitGone waits until the instance's registry entry and the history of
// run are gone.
func waitGone(t *testing.T, ctx context.Context, b *streams.Backend, id, run string) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "instance "+id+" to be removed", func() bool {
		_, err := b.GetInstance(ctx, id)
		if !errors.Is(err, streams.ErrInstanceNotFound) {
			return false
		}
		h, err := b.ReadHistory(ctx, id, run)
		return err == nil && len(h.Commits) == 0
	})
}

// waitFiresHandled waits until the retention consumer has acknowledged n
// fired removals: what a fire does has happened once this holds.
func waitFiresHandled(t *testing.T, ctx context.Context, b *streams.Backend, n uint64) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "retention fires to be handled", func() bool {
		c, err := b.JetStream().Consumer(ctx, "WF_"+b.Namespace()+"_TASKS", "wfx_retention")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Consumer >= n && info.NumAckPending == 0
	})
}

func waitStatus(t *testing.T, ctx context.Context, b *streams.Backend, id string, want streams.Status) *streams.InstanceRecord {
	t.Helper()
	var rec *streams.InstanceRecord
	testenv.WaitFor(t, 30*time.Second, "instance "+id+" to be "+string(want), func() bool {
		var err error
		rec, err = b.GetInstance(ctx, id)
		return err == nil && rec.Status == want
	})
	return rec
}

func TestNegativeRetentionIsAnError(t *testing.T) {
	nc := testenv.Conn(t, testenv.Server(t))
	_, err := streams.New(nc, streams.WithRetention(-time.Second))
	require.ErrorContains(t, err, "retention must not be negative")
}

// A finished instance is removed, registry entry and history, after the
// retention, however it ended.
func TestRetentionRemovesFinishedInstances(t *testing.T) {
	e := retentionEnv(t)
	ctx := testenv.Context(t, 2*time.Minute)
	c, b := e.Client, e.Backend

	done, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "completed"}, retainedQuick, 7)
	require.NoError(t, err)
	failed, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "failed"}, retainedFail)
	require.NoError(t, err)
	canceled, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "canceled"}, retainedWait)
	require.NoError(t, err)
	waitStatus(t, ctx, b, "canceled", streams.StatusRunning)
	require.NoError(t, c.CancelWorkflowInstance(ctx, canceled))

	cases := []struct {
		inst   *workflow.Instance
		status streams.Status
		rec    *streams.InstanceRecord
	}{
		{inst: done, status: streams.StatusCompleted},
		{inst: failed, status: streams.StatusFailed},
		{inst: canceled, status: streams.StatusCanceled},
	}
	// Each is seen finished, with its history, before any is due.
	for i := range cases {
		tc := &cases[i]
		tc.rec = waitStatus(t, ctx, b, tc.inst.InstanceID, tc.status)
		h, err := b.ReadHistory(ctx, tc.inst.InstanceID, tc.inst.ExecutionID)
		require.NoError(t, err)
		require.NotEmpty(t, h.Commits, "%s: kept until its retention runs out", tc.inst.InstanceID)
	}
	for _, tc := range cases {
		waitGone(t, ctx, b, tc.inst.InstanceID, tc.inst.ExecutionID)
		require.False(t, time.Now().Before(tc.rec.FinishedAt.Add(testRetention)), "%s removed before it was due", tc.inst.InstanceID)
	}
}

// An instance restarted under the same ID before the first run's removal
// is due keeps its new run; the new run, once finished, has a removal of
// its own.
func TestRetentionSparesAnInstanceRestartedUnderTheSameID(t *testing.T) {
	e := retentionEnv(t)
	ctx := testenv.Context(t, 2*time.Minute)
	c, b := e.Client, e.Backend

	first, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "again"}, retainedQuick, 1)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[int](ctx, c, first, 30*time.Second)
	require.NoError(t, err)
	second, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "again"}, retainedWait)
	require.NoError(t, err)
	require.NotEqual(t, first.ExecutionID, second.ExecutionID)

	waitFiresHandled(t, ctx, b, 1) // the first run's removal fired
	rec, err := b.GetInstance(ctx, "again")
	require.NoError(t, err, "the restarted instance is kept")
	require.Equal(t, second.ExecutionID, rec.ExecutionID)
	require.Equal(t, streams.StatusRunning, rec.Status)
	h, err := b.ReadHistory(ctx, "again", second.ExecutionID)
	require.NoError(t, err)
	require.NotEmpty(t, h.Commits, "the new run's history is kept")

	require.NoError(t, c.CancelWorkflowInstance(ctx, second))
	waitGone(t, ctx, b, "again", second.ExecutionID)
	h, err = b.ReadHistory(ctx, "again", first.ExecutionID)
	require.NoError(t, err)
	require.Empty(t, h.Commits, "every run's history goes")
}

// Removing an instance by hand before its removal is due is harmless: the
// fire finds nothing, or a new instance under the ID, and leaves it.
func TestRetentionAfterARemovalByHand(t *testing.T) {
	e := retentionEnv(t)
	ctx := testenv.Context(t, 2*time.Minute)
	c, b := e.Client, e.Backend

	gone, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "by-hand"}, retainedQuick, 1)
	require.NoError(t, err)
	other, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "by-hand-then-new"}, retainedQuick, 2)
	require.NoError(t, err)
	for _, inst := range []*workflow.Instance{gone, other} {
		_, err = client.GetWorkflowResult[int](ctx, c, inst, 30*time.Second)
		require.NoError(t, err)
		require.NoError(t, c.RemoveWorkflowInstance(ctx, inst))
	}
	// A new instance under a removed ID is a new record: not the run the
	// fire names.
	fresh, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "by-hand-then-new"}, retainedWait)
	require.NoError(t, err)

	waitFiresHandled(t, ctx, b, 2)
	_, err = b.GetInstance(ctx, "by-hand")
	require.ErrorIs(t, err, streams.ErrInstanceNotFound)
	rec, err := b.GetInstance(ctx, "by-hand-then-new")
	require.NoError(t, err)
	require.Equal(t, fresh.ExecutionID, rec.ExecutionID)
	require.Equal(t, streams.StatusRunning, rec.Status)
	dead, err := b.DeadLetters(ctx, streams.DeadRetention, 10)
	require.NoError(t, err)
	require.Empty(t, dead)
}
