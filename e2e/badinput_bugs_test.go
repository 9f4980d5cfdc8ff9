package e2e

// Regression tests of bugs the bad-input tests found (the comment above
// each tells the bug as it was). Each asserts what the design promises (a
// clear error to the caller, or a logged, dead-lettered message; no run
// left hanging; no hot retry loop). Broken, each stops as soon as the
// worker's log shows it going round in a loop (see stuck), or after
// bugWait. The payload-size ones are in
// badinput_payload_test.go.

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// smallPayload is the max payload of the servers of the size tests.
const smallPayload = 64 << 10

// bugWait bounds how long a bug reproduction waits for the promised
// outcome.
const bugWait = 15 * time.Second

// loopEvidence is how many warnings or errors about one instance (or
// message) show the worker going round in a loop on it. A reproduction
// stops waiting once it sees that many: the bug is there, and the tests
// stay fast while it is. Fixed, a bad input is reported once or twice.
const loopEvidence = 5

// stuck fails the test if the worker's log shows it looping on something:
// loopEvidence warnings or errors containing all of parts.
func stuck(t *testing.T, e *badEnv, what string, parts ...string) {
	t.Helper()
	if n, last := e.logs.problems(parts...); n >= loopEvidence {
		t.Fatalf("%s: the worker goes round in a loop (%d warnings or errors so far), the last: %s", what, n, last)
	}
}

// BIBigResult returns a string of n bytes made in the workflow itself.
func BIBigResult(ctx workflow.Context, n int) (string, error) {
	return strings.Repeat("r", n), nil
}

// BIBigError fails with an error message of n bytes.
func BIBigError(ctx workflow.Context, n int) error {
	return errors.New(strings.Repeat("w", n))
}

// BIBigActivityArg passes n bytes to an activity.
func BIBigActivityArg(ctx workflow.Context, n int) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, BILen, strings.Repeat("a", n)).Get(ctx)
}

// BILen is the length of its argument.
func BILen(ctx context.Context, s string) (int, error) { return len(s), nil }

// BIMake returns n bytes.
func BIMake(ctx context.Context, n int) (string, error) { return strings.Repeat("m", n), nil }

// BIEcho returns what the activity BIMake made, as its own result.
func BIEcho(ctx workflow.Context, n int) (string, error) {
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, BIMake, n).Get(ctx)
}

// biFailBigRuns counts the attempts of BIFailBig (one test uses it).
var biFailBigRuns atomic.Int64

// BIFailBig fails for good with an error message of n bytes.
func BIFailBig(ctx context.Context, n int) error {
	biFailBigRuns.Add(1)
	return workflow.NewPermanentError(errors.New(strings.Repeat("e", n)))
}

// BIActivityFailsBig runs BIFailBig and reports the start of its error.
func BIActivityFailsBig(ctx workflow.Context, n int) (string, error) {
	_, err := workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, BIFailBig, n).Get(ctx)
	if err == nil {
		return "", errors.New("BIFailBig did not fail")
	}
	return err.Error()[:20], nil
}

// BIActivityOnQueue runs BIDouble on the queue given.
func BIActivityOnQueue(ctx workflow.Context, queue string) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.ActivityOptions{Queue: queue}, BIDouble, 1).Get(ctx)
}

// BIChildOnQueue starts BIGood as "child-on-bad-queue" on the queue given.
func BIChildOnQueue(ctx workflow.Context, queue string) (int, error) {
	return workflow.CreateSubWorkflowInstance[int](ctx,
		workflow.SubWorkflowOptions{InstanceID: "child-on-bad-queue", Queue: queue}, BIGood, 1).Get(ctx)
}

// BIPassOn passes its input to an activity.
func BIPassOn(ctx workflow.Context, s string) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, BILen, s).Get(ctx)
}

// BIInputLen returns the length of its input.
func BIInputLen(ctx workflow.Context, s string) (int, error) { return len(s), nil }

// BITwoSignals adds up the lengths of two "big" signals.
func BITwoSignals(ctx workflow.Context) (int, error) {
	ch := workflow.NewSignalChannel[string](ctx, "big")
	a, _ := ch.Receive(ctx)
	b, _ := ch.Receive(ctx)
	return len(a) + len(b), nil
}

func registerBig(w *worker.Worker) {
	for _, wf := range []any{BIBigResult, BIBigError, BIBigActivityArg, BIEcho, BIActivityFailsBig,
		BIActivityOnQueue, BIChildOnQueue, BITwoSignals, BIPassOn, BIInputLen} {
		if err := w.RegisterWorkflow(wf); err != nil {
			panic(err)
		}
	}
	for _, a := range []any{BILen, BIMake, BIFailBig} {
		if err := w.RegisterActivity(a); err != nil {
			panic(err)
		}
	}
}

// outcomeWithin waits for the run to end and fails the test if it has not
// within bugWait, or if the worker is seen looping on it meanwhile: the bug
// reproduced is a run left hanging.
func outcomeWithin[T any](t *testing.T, e *badEnv, inst *workflow.Instance) (T, error) {
	t.Helper()
	deadline := time.Now().Add(bugWait)
	for {
		res, err := client.GetWorkflowResult[T](e.ctx, e.c, inst, 250*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			return res, err
		}
		stuck(t, e, "the run has not ended", "instance_id="+inst.InstanceID)
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end within %s: it hangs (%v)", bugWait, err)
		}
	}
}

// An inbox event whose ExecutionID cannot be a run's ID (not a plain token,
// or longer than 64 bytes) is never dead-lettered: it cycles through the
// worker every TaskRetryDelay forever.
//
// Mechanism: decodeInbox (streams/inbox.go) does not check ExecutionID;
// Worker.processTask (worker/workflows.go) only dead-letters an empty one.
// runTask → loadRun → Backend.ReadHistory → historySubject fails with
// ErrInvalidName, and runTask's "could not load the run" branch answers
// every error with nakAll(msgs, TaskRetryDelay): a fixed delay, no backoff,
// no dead letter. (About 100 redeliveries a second per message here.)
//
// Fix: in processTask, validate the run ID (export streams' execution-ID
// check, or have decodeInbox set Err for it) and dead-letter with a reason
// such as "inbox event names an invalid run".
func TestInboxEventWithInvalidExecutionIDIsDeadLettered(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, 0, badInputOptions(), nil)
	runs := []string{"a.b", "has space", strings.Repeat("r", 65)}
	for _, run := range runs {
		data := encEvent(t, &history.Event{Kind: history.SignalReceived, Name: "go", InboxID: "forged:" + run,
			ExecutionID: run, Time: time.Now().UTC()})
		e.publishRaw(e.inboxSubject("default", "victim"), data)
	}
	e.goodRun(1)()
	subject := e.inboxSubject("default", "victim")
	waitFor(t, bugWait, "the events naming invalid runs to be dead-lettered", func() bool {
		stuck(t, e, "the events naming invalid runs are not dead-lettered", "instance_id=victim")
		n := 0
		for _, d := range mustDeadLetters(t, e) {
			if d.Subject == subject {
				n++
			}
		}
		return n == len(runs)
	})
}

// A run whose history cannot be read (here: a garbage commit on its history
// subject) has its task retried every TaskRetryDelay forever, although
// docs/architecture.md promises that "failures that do not fail the run …
// hand the messages back with a growing delay (from 200 ms, doubling, at
// most a minute)". The client's errors are clear (Describe and Query say
// "malformed encoding"); the worker hot-loops.
//
// Mechanism: worker/workflows.go runTask, the branch after loadRun fails
// with an error other than *unknownWorkflowError, calls
// nakAll(msgs, w.opts.TaskRetryDelay) instead of w.retryTaskLater(msgs,
// log, err), which backs off by delivery count.
//
// Fix: use retryTaskLater there (and consider dead-lettering, or failing
// the run, when its history is malformed rather than unreachable).
func TestUnreadableHistoryIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, 0, badInputOptions(), nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "corrupt"}, BIWaiter)
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "the run to start", func() bool {
		d, err := e.c.DescribeWorkflowInstance(e.ctx, "corrupt")
		return err == nil && d.HistoryLength > 0
	})
	e.publishRaw("wfh."+e.ns+".corrupt."+inst.ExecutionID, []byte("garbage"))
	require.NoError(t, e.c.SignalWorkflow(e.ctx, "corrupt", "go", 1))

	_, err = e.c.DescribeWorkflowInstance(e.ctx, "corrupt")
	require.ErrorContains(t, err, "malformed encoding", "the client's error is clear")
	waitFor(t, 20*time.Second, "the first failed load", func() bool {
		return e.logs.count("could not load the run", "instance_id=corrupt") > 0
	})
	// Measure the retries over a window: backing off from TaskRetryDelay
	// (20ms), doubling, gives about 8 in 3 seconds; a slow machine gives
	// fewer.
	const window = 3 * time.Second
	before := e.logs.count("could not load the run", "instance_id=corrupt")
	time.Sleep(window)
	retries := e.logs.count("could not load the run", "instance_id=corrupt") - before
	e.goodRun(1)()
	assert.LessOrEqual(t, retries, 20, "retries of the unreadable run in %s", window)
}

// An activity whose error message is larger than the server's max payload
// is run again and again, for ever (hundreds of attempts in seconds),
// ignoring its retry policy and NewPermanentError; the workflow never
// hears of it.
//
// Mechanism: worker/activities.go finishActivity turns ErrPayloadTooLarge
// into a PayloadTooLarge failure only for a result (failure == nil). For a
// failure, PublishEvent fails, finishActivity logs "reporting the
// activity's outcome failed; it will run again" and naks with
// TaskRetryDelay; the redelivered task runs the activity again.
//
// Fix: truncate Failure.Message (and Stack) to fit — e.g. a few KiB with a
// "… (truncated from N bytes)" marker — before publishing, in
// finishActivity and wherever a failure is stored (WorkflowFailed, the
// registry's Failure).
func TestActivityErrorLargerThanMaxPayloadIsCut(t *testing.T) {
	t.Parallel()
	biFailBigRuns.Store(0)
	e := newBadEnv(t, smallPayload, badInputOptions(), registerBig)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIActivityFailsBig, 2*smallPayload)
	require.NoError(t, err)
	res, err := outcomeWithin[string](t, e, inst)
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("e", 20), res, "the workflow got the activity's error")
	assert.EqualValues(t, 1, biFailBigRuns.Load(), "a permanent failure runs the activity once")
}

// ExecuteActivity with an ActivityOptions.Queue that is not a valid queue
// name (longer than 64 bytes, or not UTF-8) hangs the run: the command is
// committed, its activity task can never be published, and nothing answers
// the future.
//
// Mechanism: workflow.ExecuteActivity does not check opts.Queue. The
// ActivityScheduled event commits; worker/effects.go publishEffects →
// Backend.PublishActivity → EncodeQueue fails with ErrInvalidName; runTask
// logs "publishing the effects of a commit failed" and naks; on
// redelivery recoverEffects fails the same way and retryTaskLater hands
// the message back, for ever. The activity is never scheduled.
//
// Fix: check the queue name where the command is made (fail the future at
// once with a clear error, as for a bad argument), or have publishEffects
// answer an ActivityScheduled with an invalid queue by an ActivityFailed
// (non-retryable, "InvalidQueue"), as startChild does for an invalid child
// instance ID.
func TestInvalidActivityQueueFailsTheActivity(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, 0, badInputOptions(), registerBig)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIActivityOnQueue, strings.Repeat("q", 65))
	require.NoError(t, err)
	_, err = outcomeWithin[int](t, e, inst)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "queue name")
}

// CreateSubWorkflowInstance with a SubWorkflowOptions.Queue that is not a
// valid queue name hangs the parent, and leaves the child's ID registered
// as "running" for ever with no history: that ID can then be neither
// started (ErrInstanceAlreadyExists) nor removed (ErrInstanceNotFinished).
//
// Mechanism: worker/effects.go startChild creates the child's registry
// record first (InstanceRecord.validate does not check Queue), then
// PublishEvent(childQueue, …) fails with ErrInvalidName. Only an
// ErrInvalidName from CreateInstance becomes a SubWorkflowFailed answer;
// this one fails publishEffects, and on every redelivery recoverEffects
// finds the record "ours" and fails the same way (a retry loop with
// backoff, for ever).
//
// Fix: validate the child's queue before creating its record (answer
// SubWorkflowFailed "InvalidQueue", non-retryable), or check it in
// workflow.CreateSubWorkflowInstance.
func TestInvalidChildQueueFailsTheChild(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, 0, badInputOptions(), registerBig)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIChildOnQueue, "\xff")
	require.NoError(t, err)
	_, err = outcomeWithin[int](t, e, inst)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "queue name")
	d, err := e.c.DescribeWorkflowInstance(e.ctx, "child-on-bad-queue")
	if err == nil {
		assert.NotEqual(t, streams.StatusRunning, d.Status, "the child's ID is left blocked")
	} else {
		assert.ErrorIs(t, err, client.ErrInstanceNotFound)
	}
}

// A poison message close to the server's max payload can never be
// dead-lettered: it cycles through the worker every TaskRetryDelay for
// ever, logging "dead-lettering failed" each time.
//
// Mechanism: streams/deadletters.go Backend.DeadLetter republishes the
// whole body plus headers (the original subject, the reason, the error up
// to 1 KiB, the delivery count); body + headers exceed max_payload and the
// publish fails with "maximum payload exceeded". worker/workflows.go
// deadLetter then naks with TaskRetryDelay (no backoff). The same holds
// for activity tasks.
//
// Fix: when the copy would not fit, store a truncated body (with a header
// giving the original size, e.g. Jetflow-Dead-Truncated) or no body, and
// always terminate the original.
func TestDeadLetteringAMessageNearMaxPayload(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, smallPayload, badInputOptions(), nil)
	subject := e.inboxSubject("default", "big-poison")
	e.publishRaw(subject, append([]byte("garbage"), make([]byte, smallPayload-200)...))
	e.goodRun(1)()
	waitFor(t, bugWait, "the large poison message to be dead-lettered", func() bool {
		stuck(t, e, "the large poison message is not dead-lettered", "subject="+subject)
		_, found := e.deadLetters(streams.DeadInbox)[subject]
		return found
	})
}

// Worker.Start that fails on a later queue (an invalid name) returns an
// error but leaves the earlier queues' pollers running — the "failed"
// worker takes and runs tasks — and WaitForCompletion then never returns,
// even after the Start context is canceled.
//
// Mechanism: worker/worker.go Start starts the pollers of each queue inside
// the loop over w.opts.Queues and returns on the first queue that fails;
// the goroutine that closes w.stopping when ctx ends is only started after
// the loop, so WaitForCompletion blocks on <-w.stopping for ever. The
// activity-cancel subscription made before the loop leaks too.
//
// Fix: validate every queue (streams.EncodeQueue) and make every consumer
// before starting any goroutine; on a later failure stop what was started
// (cancel an internal context, unsubscribe) and leave the worker
// restartable or clearly failed.
func TestWorkerStartFailingOnALaterQueueStartsNothing(t *testing.T) {
	t.Parallel()
	e := newBadEnv(t, 0, badInputOptions(), nil)
	e.cancel() // only the worker under test runs
	opts := badInputOptions()
	opts.Queues = []string{streams.DefaultQueue, "\xff"}
	w := worker.New(e.b, &opts)
	registerBI(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := w.Start(ctx)
	require.ErrorIs(t, err, streams.ErrInvalidName)

	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIGood, 1)
	require.NoError(t, err)
	// A worker whose Start failed must not run anything. (A slow machine
	// can only hide the bug here, not fake it.)
	time.Sleep(time.Second)
	d, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
	require.NoError(t, err)
	assert.Zero(t, d.HistoryLength, "the worker whose Start failed ran the workflow")
	assert.NotEqual(t, streams.StatusCompleted, d.Status, "the worker whose Start failed ran the workflow")

	cancel()
	done := make(chan error, 1)
	go func() { done <- w.WaitForCompletion() }()
	// A worker stops within PollWait (200ms); 5 seconds is plenty.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("WaitForCompletion did not return within 5s after the failed Start's context was canceled")
	}
}
