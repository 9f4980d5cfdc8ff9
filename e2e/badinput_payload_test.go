package e2e

// Regression tests of payloads near the server's max payload: events that
// fit one by one but not in one commit (or in the registry record) used to
// leave the run retrying its task for ever. Now a task whose events do not
// fit together takes them one at a time, a single event that cannot be
// stored fails the run with a clear PayloadTooLarge error, and a result
// too large for the registry record is read from the history.

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// A workflow whose commit is larger than the server's max payload — its
// result or its error is too large — hangs for ever: the run never ends,
// GetWorkflowResult never returns, the task is retried with backoff
// indefinitely. DESIGN.md: "A commit larger than the server's max payload
// gets a clear error"; the error is only in the worker's log.
//
// Mechanism: worker/workflows.go runTask: Backend.Commit returns an error
// wrapping streams.ErrPayloadTooLarge (from checkSize, before publishing),
// and runTask treats it like any commit failure: retryTaskLater. Every retry
// replays to the same too-large commit.
//
// Fix: on ErrPayloadTooLarge, commit instead the task's inbound events plus
// a WorkflowFailed with a non-retryable PayloadTooLarge failure (as
// unknownWorkflow builds its commit), so the run ends with a clear error;
// or let the engine know the limit (engine.Options.MaxPayload) and fail the
// run itself when its final event is too large.
func TestWorkflowResultLargerThanMaxPayloadFailsTheRun(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
	for name, wf := range map[string]any{"result": BIBigResult, "error": BIBigError} {
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, wf, 2*smallPayload)
		require.NoError(t, err)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := outcomeWithin[string](t, e, inst)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "too large")
		})
	}
}

// ExecuteActivity with arguments larger than the server's max payload hangs
// the run the same way: the ActivityScheduled event makes the commit too
// large. The workflow package checks argument types at once but not their
// size, so the future never fails.
//
// Mechanism: as TestWorkflowResultLargerThanMaxPayloadFailsTheRun
// (runTask → Commit → ErrPayloadTooLarge → retryTaskLater, forever). The
// same holds for sub-workflow arguments, signal payloads sent from a
// workflow, side-effect results and continue-as-new arguments.
//
// Fix: fail the command rather than the task: e.g. the executor knows the
// limit and settles the future at once with a PayloadTooLarge error (the
// command is then not recorded), or the worker answers the command with
// ActivityFailed{PayloadTooLarge}.
func TestActivityArgumentsLargerThanMaxPayloadFailTheRun(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIBigActivityArg, 2*smallPayload)
	require.NoError(t, err)
	_, err = outcomeWithin[int](t, e, inst)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too large")
}

// Events that each fit the server's max payload can hang a run when one
// workflow task puts them into one commit:
//   - an activity result of 40 KiB (the ActivityCompleted event fits the
//     inbox) that the workflow returns as its result: the commit holds the
//     result twice (ActivityCompleted + WorkflowCompleted), 80 KiB;
//   - a 40 KiB input (client.CreateWorkflowInstance accepts it) that the
//     workflow passes to an activity: WorkflowStarted + ActivityScheduled;
//   - the largest input CreateWorkflowInstance accepts, for a workflow that
//     only returns its length: WorkflowStarted + WorkflowCompleted are a
//     few dozen bytes over (the client's size check leaves no room for the
//     commit around the event);
//   - two 40 KiB signals (each accepted by client.SignalWorkflow) that reach
//     the worker in one batch: one commit with both, 80 KiB.
//
// Mechanism: the size checks are per message (PublishEvent's checkSize,
// client.checkEventSize, finishActivity's PayloadTooLarge conversion), but
// a commit holds an inbound event together with what the workflow did in
// reaction, and runTask executes all of an instance's fetched events into
// one commit; Commit then fails with ErrPayloadTooLarge and the task is
// retried for ever (retryTaskLater), always building the same commit.
//
// Fix: in runTask, when the commit is too large and the task took several
// inbound events, execute them in smaller groups (down to one per commit);
// when a single event's commit is too large, fail the run with a clear
// PayloadTooLarge failure (see the tests above). The client could also
// leave room for the commit's overhead in checkEventSize.
func TestCommitOfEventsThatFitAlone(t *testing.T) {
	t.Parallel()
	const each = 40 << 10
	t.Run("activity result passed on", func(t *testing.T) {
		t.Parallel()
		e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIEcho, each)
		require.NoError(t, err)
		res, err := outcomeWithin[string](t, e, inst)
		if err != nil {
			assert.Contains(t, err.Error(), "too large")
		} else {
			assert.Len(t, res, each)
		}
	})
	t.Run("start input passed to an activity", func(t *testing.T) {
		t.Parallel()
		e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIPassOn, strings.Repeat("i", each))
		require.NoError(t, err)
		res, err := outcomeWithin[int](t, e, inst)
		if err != nil {
			assert.Contains(t, err.Error(), "too large")
		} else {
			assert.Equal(t, each, res)
		}
	})
	t.Run("the largest start input the client accepts", func(t *testing.T) {
		t.Parallel()
		e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
		var inst *workflow.Instance
		for size := smallPayload; inst == nil; size -= 4 {
			var err error
			inst, err = e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "largest"}, BIInputLen, strings.Repeat("i", size))
			if err != nil {
				require.ErrorIs(t, err, streams.ErrPayloadTooLarge)
				require.Greater(t, size, smallPayload-1024, "the client refuses inputs well under the limit")
			}
		}
		_, err := outcomeWithin[int](t, e, inst)
		if err != nil {
			assert.Contains(t, err.Error(), "too large")
		}
	})
	t.Run("two signals in one task", func(t *testing.T) {
		t.Parallel()
		e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BITwoSignals)
		require.NoError(t, err)
		waitFor(t, 20*time.Second, "the run to start", func() bool {
			d, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
			return err == nil && d.HistoryLength > 0
		})
		// Both signals wait in the inbox while no worker runs, so the
		// next worker fetches them in one batch. (The stopped worker's
		// last pull request must expire first, or it takes one.)
		e.cancel()
		inbox := e.inboxInfo()
		waitFor(t, 20*time.Second, "the stopped worker's pull requests to expire", func() bool {
			return inbox().NumWaiting == 0
		})
		for range 2 {
			require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "big", strings.Repeat("s", each)))
		}
		waitFor(t, 20*time.Second, "both signals to wait in the inbox", func() bool {
			i := inbox()
			return i.NumPending == 2 && i.NumAckPending == 0
		})
		e.startWorker(func(w *worker.Worker) { registerBI(t, w); registerBig(w) })
		res, err := outcomeWithin[int](t, e, inst)
		require.NoError(t, err, "two signals the client accepted are both delivered")
		assert.Equal(t, 2*each, res)
		// Broken, the run sometimes heals by chance: once the two
		// messages come back at different times they go into separate
		// tasks. Their first task, though, always takes both.
		assert.Zero(t, e.logs.count("workflow task failed", "payload too large", "instance_id="+inst.InstanceID),
			"tasks that failed because they put both signals into one commit")
	})
}

// A workflow result that fits the commit but not the registry record leaves
// the instance "running" for ever: GetWorkflowResult never returns, the ID
// cannot be reused (ErrInstanceAlreadyExists) nor removed
// (ErrInstanceNotFinished), and a parent would never hear of its child.
//
// Mechanism: the record is JSON, so InstanceRecord.Result ([]byte) is
// base64 — 4/3 of the result — plus the other fields. A 55 KiB result
// makes a ~56 KiB commit (fits 64 KiB) and a ~74 KiB record.
// worker/effects.go finishRun → updateRecord → Backend.UpdateInstance →
// encodeRecord → checkSize fails with ErrPayloadTooLarge; publishEffects
// fails and runTask naks ("publishing the effects of a commit failed");
// on redelivery Execute gives ErrRunFinished and recoverEffects fails the
// same way, and (since cd4bd39) retryTaskLater hands the message back
// again: a retry loop with backoff, for ever. (Before cd4bd39 the message
// was acked and the instance stayed "running" silently.)
//
// Fix: keep large results out of the record (leave Result empty with a flag,
// and let GetWorkflowResult read the final event of the history), or check
// at commit time that the final event will fit the record and fail the run
// with PayloadTooLarge otherwise. Either way finishRun must still set the
// status.
func TestWorkflowResultTooLargeForTheRegistry(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
	const size = 55 << 10
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "big-record"}, BIBigResult, size)
	require.NoError(t, err)
	res, err := outcomeWithin[string](t, e, inst)
	if err != nil {
		assert.Contains(t, err.Error(), "too large")
	} else {
		assert.Len(t, res, size)
	}
	d, err := e.c.DescribeWorkflowInstance(e.ctx, "big-record")
	require.NoError(t, err)
	assert.NotEqual(t, streams.StatusRunning, d.Status)
}
