package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

type Approval struct {
	By   string
	Note string
}

func TestSignalWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "order-42", Queue: "orders"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox("orders", 1)

	require.NoError(t, e.c.SignalWorkflow(e.ctx, "order-42", "approve", Approval{By: "ann"}))
	require.NoError(t, e.c.SignalWorkflow(e.ctx, "order-42", "approve", Approval{By: "bob"}))
	require.NoError(t, e.c.SignalWorkflow(e.ctx, "order-42", "poke", nil))

	msgs := e.inbox("orders", 3)
	seen := map[string]bool{}
	for i, want := range []string{"ann", "bob"} {
		ev := msgs[i].Event
		assert.Equal(t, history.SignalReceived, ev.Kind)
		assert.Equal(t, "approve", ev.Name)
		assert.Equal(t, inst.ExecutionID, ev.ExecutionID)
		assert.True(t, strings.HasPrefix(ev.InboxID, "sig:"), ev.InboxID)
		assert.False(t, seen[ev.InboxID], "two signals share the message ID %s", ev.InboxID)
		seen[ev.InboxID] = true
		require.Len(t, ev.Args, 1)
		assert.Equal(t, Approval{By: want}, decode[Approval](t, ev.Args[0]))
	}
	assert.Equal(t, "poke", msgs[2].Event.Name)
	assert.Nil(t, decode[*Approval](t, msgs[2].Event.Args[0]))
}

func TestSignalBetweenRunsGoesToTheNextRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "between"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)
	e.finish("between", streams.StatusContinuedAsNew, nil, nil)
	moved := e.registerNextRunWhenSeen("between", "next-run")

	require.NoError(t, e.c.SignalWorkflow(e.ctx, "between", "go", 1))
	require.NoError(t, moved())
	ev := e.inbox(streams.DefaultQueue, 1)[0].Event
	assert.Equal(t, history.SignalReceived, ev.Kind)
	assert.Equal(t, "next-run", ev.ExecutionID)
}

func TestSignalRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "done"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)
	e.finish("done", streams.StatusCompleted, "x", nil)

	tests := []struct {
		name, id, signal string
		arg              any
		is               error
		text             string
	}{
		{name: "unknown instance", id: "nope", signal: "s", is: ErrInstanceNotFound},
		{name: "finished instance", id: "done", signal: "s", is: ErrInstanceFinished, text: "completed"},
		{name: "empty signal name", id: "done", text: "empty signal name"},
		{name: "invalid instance ID", id: "", signal: "s", is: streams.ErrInvalidName},
		{name: "argument that does not encode", id: "done", signal: "s", arg: make(chan int), text: "msgpack"},
		{name: "argument too large", id: "running", signal: "s", arg: strings.Repeat("x", 2<<20), is: streams.ErrPayloadTooLarge},
	}
	_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "running"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.c.SignalWorkflow(e.ctx, tt.id, tt.signal, tt.arg)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.ErrorContains(t, err, tt.text)
		})
	}
	e.noInbox(streams.DefaultQueue)
}

func TestCancelAndTerminate(t *testing.T) {
	type request struct {
		name  string
		do    func(e *testEnv, inst *workflow.Instance) error
		kind  history.Kind
		inbox string // prefix of the InboxID, before the run
		check func(t *testing.T, ev *history.Event)
	}
	requests := []request{
		{
			name: "cancel", kind: history.CancelRequested, inbox: "cancel:",
			do: func(e *testEnv, inst *workflow.Instance) error { return e.c.CancelWorkflowInstance(e.ctx, inst) },
		},
		{
			name: "terminate", kind: history.TerminateRequested, inbox: "terminate:",
			do: func(e *testEnv, inst *workflow.Instance) error {
				return e.c.TerminateWorkflowInstance(e.ctx, inst, "operator says so")
			},
			check: func(t *testing.T, ev *history.Event) { assert.Equal(t, "operator says so", ev.Reason) },
		},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "target", Queue: "q"}, Greet, "ann")
			require.NoError(t, err)
			e.inbox("q", 1)

			// By the current run, and again by the instance alone: the
			// same request, stored once.
			require.NoError(t, rq.do(e, inst))
			require.NoError(t, rq.do(e, &workflow.Instance{InstanceID: "target"}))
			msgs := e.inbox("q", 1)
			ev := msgs[0].Event
			assert.Equal(t, rq.kind, ev.Kind)
			assert.Equal(t, rq.inbox+inst.ExecutionID, ev.InboxID)
			assert.Equal(t, inst.ExecutionID, ev.ExecutionID)
			assert.False(t, ev.Time.IsZero())
			if rq.check != nil {
				rq.check(t, ev)
			}
			e.noInbox("q")

			// A run that continued as new leads to its successor.
			next, err := e.continueAsNew("target")
			require.NoError(t, err)
			require.NoError(t, rq.do(e, inst))
			ev = e.inbox("q", 1)[0].Event
			assert.Equal(t, rq.inbox+next, ev.InboxID)
			assert.Equal(t, next, ev.ExecutionID)

			// Refusals.
			err = rq.do(e, &workflow.Instance{InstanceID: "nope"})
			assert.ErrorIs(t, err, ErrInstanceNotFound)
			err = rq.do(e, &workflow.Instance{InstanceID: "target", ExecutionID: "never"})
			assert.ErrorIs(t, err, ErrExecutionNotFound)
			err = rq.do(e, nil)
			assert.ErrorContains(t, err, "nil *workflow.Instance")

			e.finish("target", streams.StatusCompleted, "x", nil)
			err = rq.do(e, &workflow.Instance{InstanceID: "target"})
			assert.ErrorIs(t, err, ErrInstanceFinished)
			assert.ErrorContains(t, err, "completed")
			// A new run of the ID: the old run is over, whatever the
			// instance does now.
			e.commit("target", next, history.Event{Kind: history.WorkflowCompleted})
			again, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "target", Queue: "q"}, Greet, "bob")
			require.NoError(t, err)
			e.inbox("q", 1)
			err = rq.do(e, inst)
			assert.ErrorIs(t, err, ErrInstanceFinished)
			assert.ErrorContains(t, err, again.ExecutionID)
			e.noInbox("q")
		})
	}
}

func TestCancelWaitsOutAnInstanceBetweenRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "between"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)
	e.finish("between", streams.StatusContinuedAsNew, nil, nil)

	moved := e.registerNextRunWhenSeen("between", "next-run")
	require.NoError(t, e.c.CancelWorkflowInstance(e.ctx, &workflow.Instance{InstanceID: "between"}))
	require.NoError(t, moved())
	ev := e.inbox(streams.DefaultQueue, 1)[0].Event
	assert.Equal(t, "cancel:next-run", ev.InboxID)

	// One that never moves on gives up after SettleTimeout.
	e.finish("between", streams.StatusContinuedAsNew, nil, nil)
	c := NewWithOptions(e.b, &Options{SettleTimeout: 100 * time.Millisecond})
	err = c.TerminateWorkflowInstance(e.ctx, &workflow.Instance{InstanceID: "between"}, "")
	assert.ErrorContains(t, err, "continued as new")
	err = c.SignalWorkflow(e.ctx, "between", "s", nil)
	assert.ErrorContains(t, err, "continued as new")
	e.noInbox(streams.DefaultQueue)
}

func TestRemoveWorkflowInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "old"}, Greet, "ann")
	require.NoError(t, err)
	e.commit("old", first.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet"}, history.Event{Kind: history.WorkflowCompleted})
	e.finish("old", streams.StatusCompleted, "x", nil)
	second, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "old"}, Greet, "bob")
	require.NoError(t, err)
	e.commit("old", second.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet"})

	// Running: refused, nothing removed.
	err = e.c.RemoveWorkflowInstance(e.ctx, second)
	require.ErrorIs(t, err, ErrInstanceNotFinished)
	e.finish("old", streams.StatusContinuedAsNew, nil, nil)
	err = e.c.RemoveWorkflowInstance(e.ctx, second)
	require.ErrorIs(t, err, ErrInstanceNotFinished)
	h, err := e.b.ReadHistory(e.ctx, "old", second.ExecutionID)
	require.NoError(t, err)
	assert.Len(t, h.Commits, 1)

	e.finish("old", streams.StatusFailed, nil, &history.Failure{Message: "x"})
	err = e.c.RemoveWorkflowInstance(e.ctx, &workflow.Instance{InstanceID: "old", ExecutionID: "never"})
	require.ErrorIs(t, err, ErrExecutionNotFound)
	require.NoError(t, e.c.RemoveWorkflowInstance(e.ctx, first))

	_, err = e.b.GetInstance(e.ctx, "old")
	require.ErrorIs(t, err, streams.ErrInstanceNotFound)
	for _, run := range []string{first.ExecutionID, second.ExecutionID} {
		h, err := e.b.ReadHistory(e.ctx, "old", run)
		require.NoError(t, err)
		assert.Empty(t, h.Commits, "history of run %s", run)
	}

	err = e.c.RemoveWorkflowInstance(e.ctx, first)
	require.ErrorIs(t, err, ErrInstanceNotFound)
	err = e.c.RemoveWorkflowInstance(e.ctx, &workflow.Instance{})
	require.ErrorIs(t, err, streams.ErrInvalidName)

	// The ID can be used afresh.
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "old"}, Greet, "cy")
	require.NoError(t, err)
	assert.Empty(t, e.record("old").Runs)
	assert.Equal(t, inst.ExecutionID, e.record("old").ExecutionID)
	assert.False(t, errors.Is(err, ErrInstanceAlreadyExists))
}

// registerNextRunWhenSeen plays a worker that registers the next run of an
// instance between runs once the client has seen it between runs. Check
// the returned function's error after the client's call.
func (e *testEnv) registerNextRunWhenSeen(id, nextRun string) (done func() error) {
	found := make(chan struct{}, 1)
	e.c.betweenRuns = func(string) {
		select {
		case found <- struct{}{}:
		default:
		}
	}
	moved := make(chan error, 1)
	go func() {
		select {
		case <-found:
		case <-time.After(20 * time.Second):
			moved <- errors.New("the client never found the instance between runs")
			return
		}
		rec, err := e.b.GetInstance(e.ctx, id)
		if err != nil {
			moved <- err
			return
		}
		rec.Runs = append(rec.Runs, rec.ExecutionID)
		rec.ExecutionID = nextRun
		rec.Status = streams.StatusRunning
		_, err = e.b.UpdateInstance(e.ctx, rec, rec.Revision)
		moved <- err
	}()
	return func() error {
		select {
		case err := <-moved:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("the next run was never registered")
		}
	}
}

// A start that reuses the ID while a removal is under way keeps its run:
// its registry entry and its first commits survive, and the removal says
// the instance changed.
func TestRemoveRacingARestartKeepsTheNewRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "race"}, Greet, "ann")
	require.NoError(t, err)
	e.commit("race", old.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet"}, history.Event{Kind: history.WorkflowCompleted})
	e.finish("race", streams.StatusCompleted, "x", nil)

	var next *workflow.Instance
	e.c.beforeRemove = func(string) {
		// The restart and its first commit land between the removal's
		// check and its deletes.
		next, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "race"}, Greet, "bob")
		require.NoError(t, err)
		e.commit("race", next.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet"})
	}
	err = e.c.RemoveWorkflowInstance(e.ctx, old)
	require.ErrorContains(t, err, "changed while being removed")

	rec := e.record("race")
	assert.Equal(t, next.ExecutionID, rec.ExecutionID, "the new run's entry is kept")
	h, err := e.b.ReadHistory(e.ctx, "race", next.ExecutionID)
	require.NoError(t, err)
	assert.Len(t, h.Commits, 1, "the new run's first commit is kept")
	h, err = e.b.ReadHistory(e.ctx, "race", old.ExecutionID)
	require.NoError(t, err)
	assert.Empty(t, h.Commits, "the removed run's history is gone")
}

// An instance can continue as new for ever: its record lists the newest
// runs and counts the rest, so it stays small, and an older run is still
// found by its history.
func TestRecordOfAnInstanceThatContinuesForEver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "forever"}, Greet, "ann")
	require.NoError(t, err)
	first := inst.ExecutionID
	e.commit("forever", first, history.Event{Kind: history.WorkflowStarted, Name: "Greet"})

	// 300,000 continue-as-new transitions, as the worker makes them,
	// without running them.
	rec := e.record("forever")
	run := first
	for range 300_000 {
		run = streams.ContinuedRunID(run)
		rec.ContinueTo(run, time.Now())
	}
	// The loop takes seconds under -race on a busy machine: the NATS work
	// after it gets a deadline of its own, not what is left of e.ctx.
	ctx := testenv.Context(t, 30*time.Second)
	_, err = e.b.UpdateInstance(ctx, rec, rec.Revision)
	require.NoError(t, err, "the record fits a message however many runs there were")
	rec, err = e.b.GetInstance(ctx, "forever")
	require.NoError(t, err)
	assert.Len(t, rec.Runs, streams.MaxListedRuns)
	assert.Equal(t, 300_001, rec.RunCount())

	// The first run is no longer listed but is still a run of the
	// instance: its history is read, and its result follows the chain.
	hist, err := e.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: "forever", ExecutionID: first})
	require.NoError(t, err)
	assert.Len(t, hist.Events, 1)
	_, err = e.c.GetWorkflowHistory(ctx, &workflow.Instance{InstanceID: "forever", ExecutionID: streams.NewID()})
	require.ErrorIs(t, err, ErrExecutionNotFound)
}

// A publish whose answer is lost (stored, but the caller sees a timeout)
// or that is lost itself is published again inside the call with the
// same message ID: one call, one signal.
func TestSignalRetriedWithTheSameID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stored bool // whether the first, failing publish reached the stream
	}{{"answer lost", true}, {"publish lost", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "retry"}, Greet, "ann")
			require.NoError(t, err)
			e.inbox(streams.DefaultQueue, 1)

			var ids []string
			e.c.publishEvent = func(ctx context.Context, queue, instanceID string, ev *history.Event) error {
				ids = append(ids, ev.InboxID)
				if len(ids) == 1 {
					if tc.stored {
						require.NoError(t, e.b.PublishEvent(ctx, queue, instanceID, ev))
					}
					return fmt.Errorf("streams: publish %s to inbox of %q: %w", ev.Kind, instanceID, context.DeadlineExceeded)
				}
				return e.b.PublishEvent(ctx, queue, instanceID, ev)
			}
			require.NoError(t, e.c.SignalWorkflow(e.ctx, "retry", "approve", Approval{By: "ann"}))
			require.Len(t, ids, 2, "published once more after the unknown outcome")
			assert.Equal(t, ids[0], ids[1], "with the same message ID")
			msgs := e.inbox(streams.DefaultQueue, 1)
			assert.Equal(t, ids[0], msgs[0].Event.InboxID)
			e.noInbox(streams.DefaultQueue)
		})
	}
}

// An error the server answered, or the caller's own deadline, ends the
// call at once; an unknown outcome that persists ends it after a few
// attempts, saying a retry with the same ID is safe.
func TestSignalRetryGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "gives-up"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)

	calls := 0
	final := errors.New("nats: maximum payload exceeded")
	e.c.publishEvent = func(context.Context, string, string, *history.Event) error { calls++; return final }
	require.ErrorIs(t, e.c.SignalWorkflow(e.ctx, "gives-up", "s", 1), final)
	assert.Equal(t, 1, calls)

	calls = 0
	e.c.publishEvent = func(context.Context, string, string, *history.Event) error { calls++; return nats.ErrTimeout }
	err = e.c.SignalWorkflow(e.ctx, "gives-up", "s", 1)
	require.ErrorIs(t, err, nats.ErrTimeout)
	assert.Contains(t, err.Error(), "a retry with the same ID delivers it once")
	assert.Equal(t, publishAttempts, calls)
}

// A caller's signal ID names a signal to one instance: the same ID sent to
// two instances is two signals (the InboxID is a stream-wide message ID,
// so an ID without the instance made JetStream drop the second).
func TestSignalOwnIDPerInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"one", "two"} {
		_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: id}, Greet, "ann")
		require.NoError(t, err)
	}
	e.inbox(streams.DefaultQueue, 2)

	for _, id := range []string{"one", "two"} {
		opts := SignalOptions{InstanceID: id, Name: "approve", SignalID: "approval-7"}
		require.NoError(t, e.c.SignalWorkflowWithOptions(e.ctx, opts, Approval{By: "ann"}))
	}
	msgs := e.inbox(streams.DefaultQueue, 2)
	assert.ElementsMatch(t, []string{"one", "two"}, []string{msgs[0].InstanceID, msgs[1].InstanceID})
	e.noInbox(streams.DefaultQueue)
}

// Calls with the same SignalID deliver one signal; other IDs, and calls
// without one, are signals of their own.
func TestSignalWithOwnID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "own-id"}, Greet, "ann")
	require.NoError(t, err)
	e.inbox(streams.DefaultQueue, 1)

	opts := SignalOptions{InstanceID: "own-id", Name: "approve", SignalID: "approval-7"}
	require.NoError(t, e.c.SignalWorkflowWithOptions(e.ctx, opts, Approval{By: "ann"}))
	require.NoError(t, e.c.SignalWorkflowWithOptions(e.ctx, opts, Approval{By: "ann"})) // the caller's retry
	opts.SignalID = "approval-8"
	require.NoError(t, e.c.SignalWorkflowWithOptions(e.ctx, opts, Approval{By: "bob"}))

	msgs := e.inbox(streams.DefaultQueue, 2)
	assert.Equal(t, streams.CallerSignalInboxID("own-id", "approval-7"), msgs[0].Event.InboxID)
	assert.Equal(t, "sigid:6:own-id:approval-8", msgs[1].Event.InboxID)
	assert.Equal(t, inst.ExecutionID, msgs[0].Event.ExecutionID)
	assert.Equal(t, Approval{By: "bob"}, decode[Approval](t, msgs[1].Event.Args[0]))
	e.noInbox(streams.DefaultQueue)

	for _, bad := range []string{strings.Repeat("x", MaxSignalIDLength+1), "a\nb", "\xff"} {
		err := e.c.SignalWorkflowWithOptions(e.ctx, SignalOptions{InstanceID: "own-id", Name: "approve", SignalID: bad}, 1)
		assert.ErrorContains(t, err, "signal ID", "%q", bad)
	}
	e.noInbox(streams.DefaultQueue)
}
