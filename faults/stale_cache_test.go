package faults

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// TwoGatedSteps runs two activities one after the other on queue "acts",
// where the test decides when each finishes.
func TwoGatedSteps(ctx workflow.Context) (int, error) {
	opts := workflow.ActivityOptions{Queue: "acts", StartToCloseTimeout: time.Minute}
	r1, err := workflow.ExecuteActivity[int](ctx, opts, "Gated", 1).Get(ctx)
	if err != nil {
		return 0, err
	}
	r2, err := workflow.ExecuteActivity[int](ctx, opts, "Gated", 2).Get(ctx)
	if err != nil {
		return 0, err
	}
	return r1 + r2, nil
}

// TestStaleCachedExecutorKeepsAnswer — REGRESSION TEST of a bug this suite
// found (fixed in 84dc6b8, "an executor behind its history re-reads
// instead of dropping the answers it does not know"). With two or more
// workers and the executor cache on, it made a third to a half of the
// kill scenario's runs hang; the steered reproduction below needs no kill.
//
// A worker's cached executor is used without re-reading the history; the
// design relies on the commit's sequence check to catch a stale one. But a
// stale executor that receives the answer to a command it has never seen
// (an ActivityCompleted, TimerFired, SubWorkflowCompleted or
// SignalDelivered whose ScheduleID another worker scheduled) does not
// accept it, produces nothing, commits nothing — so no sequence check
// runs — and the worker acknowledges the message. The event is gone and the
// run waits forever.
//
// The test steers the messages between two workflow workers, A (through a
// proxy that can freeze its connection) and B:
//  1. A alone takes the start and commits it: A caches the run after
//     commit 1 (activity 1 scheduled).
//  2. A is frozen (cut off, memory intact). B takes activity 1's result
//     and commits it with activity 2's schedule (commit 2). B stops.
//  3. A is thawed and is the only workflow worker when activity 2's result
//     arrives. Its cached executor knows only activity 1.
//
// Expected: the run completes with 10+20. Before the fix, A acked the
// result without committing it, and the run never completed.
func TestStaleCachedExecutorKeepsAnswer(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	const ackWait = time.Second
	srv, e := newLocalEnv(t, "stale", ackWait)
	ns := e.ns
	js := e.b.JetStream()

	gates := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	gated := func(ctx context.Context, k int) (int, error) {
		select {
		case <-gates[k]:
			return 10 * k, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	base := worker.Options{PollWait: 200 * time.Millisecond, TaskRetryDelay: 50 * time.Millisecond}
	actOpts := base
	actOpts.Queues = []string{"acts"}
	startInProcWorker(t, srv.ClientURL(), ns, ackWait, actOpts, func(w *worker.Worker) error {
		return w.RegisterActivity(gated, worker.WithName("Gated"))
	})
	registerWF := func(w *worker.Worker) error { return w.RegisterWorkflow(TwoGatedSteps) }

	proxy := newNATSProxy(t, srv.ClientURL())
	startInProcWorker(t, proxy.URL(), ns, ackWait, base, registerWF) // A

	inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "stale-1"}, TwoGatedSteps)
	require.NoError(t, err)
	commits := func() int {
		h, err := e.b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
		if err != nil {
			return -1
		}
		return len(h.Commits)
	}
	eventually(t, 20*time.Second, "worker A to commit the start", func() bool { return commits() == 1 })
	eventually(t, 20*time.Second, "the start to be acknowledged", func() bool { return inboxSettled(ctx, js, ns, "default", -1) })

	proxy.freeze()
	eventually(t, 20*time.Second, "A's pull requests to expire", func() bool { return inboxSettled(ctx, js, ns, "default", 0) })
	b := startInProcWorker(t, srv.ClientURL(), ns, ackWait, base, registerWF) // B
	close(gates[1])
	eventually(t, 20*time.Second, "worker B to commit activity 1's result", func() bool { return commits() == 2 })
	b.stop()
	eventually(t, 20*time.Second, "B's work to be acknowledged and its pull requests gone", func() bool {
		return inboxSettled(ctx, js, ns, "default", 0)
	})

	proxy.thaw()
	close(gates[2])
	res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 5*time.Second+3*ackWait)
	if err != nil {
		h, herr := e.b.ReadHistory(ctx, inst.InstanceID, inst.ExecutionID)
		require.NoError(t, herr)
		answered := false
		for _, ev := range h.Events() {
			if ev.Kind == history.ActivityCompleted && ev.ScheduleID == 4 {
				answered = true
			}
		}
		t.Fatalf("REGRESSION: the run did not complete (%v). Activity 2's result committed: %v; inbox settled (nothing pending or unacknowledged): %v. "+
			"Worker A's cached executor (from commit 1) ignored the ActivityCompleted of an activity it never saw scheduled, and A acknowledged it.",
			err, answered, inboxSettled(ctx, js, ns, "default", -1))
	}
	require.Equal(t, 30, res)
}
