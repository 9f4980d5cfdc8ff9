package client

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func TestCreateWorkflowInstance(t *testing.T) {
	tests := []struct {
		name      string
		opts      WorkflowInstanceOptions
		wf        any
		args      []any
		wantName  string
		wantQueue string
		check     func(t *testing.T, args [][]byte)
	}{
		{
			name: "function", opts: WorkflowInstanceOptions{InstanceID: "order-42"},
			wf: Greet, args: []any{"ann"}, wantName: "Greet", wantQueue: "default",
			check: func(t *testing.T, args [][]byte) {
				require.Len(t, args, 1)
				assert.Equal(t, "ann", decode[string](t, args[0]))
			},
		},
		{
			name: "by name, own queue", opts: WorkflowInstanceOptions{InstanceID: "by-name", Queue: "billing"},
			wf: "SomeWorkflow", args: []any{1, "x"}, wantName: "SomeWorkflow", wantQueue: "billing",
			check: func(t *testing.T, args [][]byte) {
				require.Len(t, args, 2)
				assert.Equal(t, 1, decode[int](t, args[0]))
				assert.Equal(t, "x", decode[string](t, args[1]))
			},
		},
		{
			name: "generated ID, untyped constants for ints", wf: Add, args: []any{35, 12},
			wantName: "Add", wantQueue: "default",
			check: func(t *testing.T, args [][]byte) {
				assert.Equal(t, 35, decode[int](t, args[0]))
				assert.Equal(t, 12, decode[int](t, args[1]))
			},
		},
		{
			name: "no arguments", opts: WorkflowInstanceOptions{InstanceID: "nothing"}, wf: Nothing,
			wantName: "Nothing", wantQueue: "default",
			check: func(t *testing.T, args [][]byte) { assert.Empty(t, args) },
		},
		{
			name: "struct argument, ID that needs encoding", opts: WorkflowInstanceOptions{InstanceID: "orders/2024 #7 ü"},
			wf: PlaceOrder, args: []any{Order{ID: "7", Items: []string{"a"}, Total: 9.5}},
			wantName: "PlaceOrder", wantQueue: "default",
			check: func(t *testing.T, args [][]byte) {
				assert.Equal(t, Order{ID: "7", Items: []string{"a"}, Total: 9.5}, decode[Order](t, args[0]))
			},
		},
		{
			name: "variadic", opts: WorkflowInstanceOptions{InstanceID: "variadic"}, wf: Variadic, args: []any{"p", 1, 2, 3},
			wantName: "Variadic", wantQueue: "default",
			check: func(t *testing.T, args [][]byte) { assert.Len(t, args, 4) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			before := time.Now().UTC()
			inst, err := e.c.CreateWorkflowInstance(e.ctx, tt.opts, tt.wf, tt.args...)
			require.NoError(t, err)
			if tt.opts.InstanceID == "" {
				assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, inst.InstanceID)
			} else {
				assert.Equal(t, tt.opts.InstanceID, inst.InstanceID)
			}
			assert.NotEmpty(t, inst.ExecutionID)

			rec := e.record(inst.InstanceID)
			assert.Equal(t, tt.wantName, rec.WorkflowName)
			assert.Equal(t, tt.wantQueue, rec.Queue)
			assert.Equal(t, inst.ExecutionID, rec.ExecutionID)
			assert.Equal(t, streams.StatusRunning, rec.Status)
			assert.Empty(t, rec.Runs)
			assert.False(t, rec.CreatedAt.Before(before.Truncate(time.Microsecond)), "created at %v, before %v", rec.CreatedAt, before)
			assert.Equal(t, rec.CreatedAt, rec.UpdatedAt)

			msgs := e.inbox(tt.wantQueue, 1)
			m := msgs[0]
			assert.Equal(t, inst.InstanceID, m.InstanceID)
			ev := m.Event
			assert.Equal(t, history.WorkflowStarted, ev.Kind)
			assert.Equal(t, "start:"+inst.ExecutionID, ev.InboxID)
			assert.Equal(t, inst.ExecutionID, ev.ExecutionID)
			assert.Equal(t, tt.wantName, ev.Name)
			assert.Equal(t, tt.wantQueue, ev.Queue)
			assert.Nil(t, ev.Parent)
			tt.check(t, ev.Args)
		})
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	bad := string([]byte{0xff, 0xfe})
	tests := []struct {
		name        string
		opts        WorkflowInstanceOptions
		wf          any
		args        []any
		wantInvalid bool     // errors.Is(err, streams.ErrInvalidName)
		wantTooBig  bool     // errors.Is(err, streams.ErrPayloadTooLarge)
		wantText    []string // parts of the message
	}{
		{name: "too few arguments", wf: Add, args: []any{1},
			wantText: []string{"workflow Add takes 2 arguments (int, int), got 1"}},
		{name: "too many arguments", wf: Greet, args: []any{"a", "b"},
			wantText: []string{"workflow Greet takes 1 arguments (string), got 2"}},
		{name: "wrong type", wf: Greet, args: []any{42},
			wantText: []string{"workflow Greet(string)", "argument 1", "int does not fit string"}},
		{name: "wrong struct", wf: PlaceOrder, args: []any{"order"},
			wantText: []string{"workflow PlaceOrder(client.Order)", "argument 1", "string does not fit client.Order"}},
		{name: "variadic wrong type", wf: Variadic, args: []any{"p", 1, "two"},
			wantText: []string{"argument 3", "string does not fit int"}},
		{name: "not a workflow function", wf: func(s string) error { return nil },
			wantText: []string{"anonymous function"}},
		{name: "wrong first parameter", wf: strings.ToUpper,
			wantText: []string{"workflow ToUpper", "workflow.Context"}},
		{name: "neither function nor name", wf: 42, wantText: []string{"not a int"}},
		{name: "nil workflow", wf: nil, wantText: []string{"nil workflow"}},
		{name: "empty name", wf: "", wantText: []string{"empty workflow name"}},
		{name: "instance ID too long", opts: WorkflowInstanceOptions{InstanceID: strings.Repeat("x", streams.MaxInstanceIDLength+1)},
			wf: Nothing, wantInvalid: true, wantText: []string{"instance ID", "limit is 255"}},
		{name: "instance ID not UTF-8", opts: WorkflowInstanceOptions{InstanceID: bad},
			wf: Nothing, wantInvalid: true, wantText: []string{"not valid UTF-8"}},
		{name: "queue too long", opts: WorkflowInstanceOptions{Queue: strings.Repeat("q", streams.MaxQueueLength+1)},
			wf: Nothing, wantInvalid: true, wantText: []string{"queue name"}},
		{name: "arguments too large", wf: Greet, args: []any{strings.Repeat("x", 2<<20)},
			wantTooBig: true, wantText: []string{"WorkflowStarted event is"}},
		{name: "argument that does not encode", wf: "ByName", args: []any{make(chan int)},
			wantText: []string{"argument 1", "msgpack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			opts := tt.opts
			if opts.InstanceID == "" {
				opts.InstanceID = "refused"
			}
			inst, err := e.c.CreateWorkflowInstance(e.ctx, opts, tt.wf, tt.args...)
			require.Error(t, err)
			assert.Nil(t, inst)
			assert.Equal(t, tt.wantInvalid, errors.Is(err, streams.ErrInvalidName), "ErrInvalidName: %v", err)
			assert.Equal(t, tt.wantTooBig, errors.Is(err, streams.ErrPayloadTooLarge), "ErrPayloadTooLarge: %v", err)
			for _, part := range tt.wantText {
				assert.Contains(t, err.Error(), part)
			}

			// Nothing was written.
			page, err := e.b.ListInstances(e.ctx, streams.ListOptions{})
			require.NoError(t, err)
			assert.Empty(t, page.Instances)
			e.noInbox(streams.DefaultQueue)
		})
	}
}

func TestCreateWhileRunning(t *testing.T) {
	e := newEnv(t)
	opts := WorkflowInstanceOptions{InstanceID: "dup"}
	first, err := e.c.CreateWorkflowInstance(e.ctx, opts, Greet, "a")
	require.NoError(t, err)

	_, err = e.c.CreateWorkflowInstance(e.ctx, opts, Greet, "a")
	require.ErrorIs(t, err, ErrInstanceAlreadyExists)
	require.ErrorIs(t, err, workflow.ErrInstanceAlreadyExists)
	assert.Contains(t, err.Error(), first.ExecutionID)

	// Once the run has history (a worker took it up), a second start
	// does not republish anything.
	e.commit("dup", first.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet", InboxID: "start:" + first.ExecutionID})
	_, err = e.c.CreateWorkflowInstance(e.ctx, opts, "Greet", "b")
	require.ErrorIs(t, err, ErrInstanceAlreadyExists)

	rec := e.record("dup")
	assert.Equal(t, first.ExecutionID, rec.ExecutionID)
	assert.Empty(t, rec.Runs)
	// One start event: the republished one had the same message ID.
	msgs := e.inbox(streams.DefaultQueue, 1)
	assert.Equal(t, "start:"+first.ExecutionID, msgs[0].Event.InboxID)
	e.noInbox(streams.DefaultQueue)
}

func TestCreateAfterFinished(t *testing.T) {
	for _, status := range []streams.Status{streams.StatusCompleted, streams.StatusFailed, streams.StatusCanceled, streams.StatusTerminated} {
		t.Run(string(status), func(t *testing.T) {
			e := newEnv(t)
			opts := WorkflowInstanceOptions{InstanceID: "reused"}
			first, err := e.c.CreateWorkflowInstance(e.ctx, opts, Greet, "a")
			require.NoError(t, err)
			e.inbox(streams.DefaultQueue, 1)
			e.finish("reused", status, "done", &history.Failure{Message: "x"})

			second, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "reused", Queue: "other"}, Add, 1, 2)
			require.NoError(t, err)
			assert.NotEqual(t, first.ExecutionID, second.ExecutionID)

			rec := e.record("reused")
			assert.Equal(t, second.ExecutionID, rec.ExecutionID)
			assert.Equal(t, []string{first.ExecutionID}, rec.Runs)
			assert.Equal(t, streams.StatusRunning, rec.Status)
			assert.Equal(t, "Add", rec.WorkflowName)
			assert.Equal(t, "other", rec.Queue)
			assert.Empty(t, rec.Result)
			assert.Nil(t, rec.Failure)
			assert.True(t, rec.FinishedAt.IsZero())

			msgs := e.inbox("other", 1)
			assert.Equal(t, "start:"+second.ExecutionID, msgs[0].Event.InboxID)
			assert.Equal(t, second.ExecutionID, msgs[0].Event.ExecutionID)

			// A third start keeps the order of runs.
			e.finish("reused", streams.StatusCompleted, 3, nil)
			third, err := e.c.CreateWorkflowInstance(e.ctx, opts, Greet, "c")
			require.NoError(t, err)
			assert.Equal(t, []string{first.ExecutionID, second.ExecutionID}, e.record("reused").Runs)
			assert.Equal(t, third.ExecutionID, e.record("reused").ExecutionID)
		})
	}
}

func TestCreateContinuedAsNewIsRunning(t *testing.T) {
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "between"}, Greet, "a")
	require.NoError(t, err)
	e.finish("between", streams.StatusContinuedAsNew, nil, nil)
	_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "between"}, Greet, "a")
	require.ErrorIs(t, err, ErrInstanceAlreadyExists)
	assert.Equal(t, inst.ExecutionID, e.record("between").ExecutionID)
}

func TestConcurrentStartsOfAFinishedInstance(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "race"}, Greet, "a")
	require.NoError(t, err)
	e.finish("race", streams.StatusCompleted, "x", nil)

	const starters = 6
	var wg sync.WaitGroup
	errs := make([]error, starters)
	insts := make([]*workflow.Instance, starters)
	for i := range starters {
		wg.Go(func() {
			insts[i], errs[i] = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "race"}, Greet, "b")
		})
	}
	wg.Wait()
	var winner *workflow.Instance
	for i, err := range errs {
		if err == nil {
			require.Nil(t, winner, "two starts won")
			winner = insts[i]
			continue
		}
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)
	}
	require.NotNil(t, winner, "no start won")
	rec := e.record("race")
	assert.Equal(t, winner.ExecutionID, rec.ExecutionID)
	assert.Len(t, rec.Runs, 1)
}

func TestCreateHealsAStartThatNeverReachedTheInbox(t *testing.T) {
	// A starter that died after writing the registry entry: the entry is
	// there, the run has no history and the inbox has nothing.
	stuck := func(e *testEnv, id string, parent *history.Parent) *streams.InstanceRecord {
		created := time.Now().UTC().Add(-time.Minute)
		rec := &streams.InstanceRecord{
			InstanceID: id, WorkflowName: "Greet", Queue: "q1", ExecutionID: "run-1",
			Status: streams.StatusRunning, Parent: parent, CreatedAt: created, UpdatedAt: created,
		}
		_, err := e.b.CreateInstance(e.ctx, rec)
		require.NoError(t, err)
		return rec
	}

	t.Run("republishes the start", func(t *testing.T) {
		e := newEnv(t)
		rec := stuck(e, "stuck", nil)
		_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "stuck"}, Greet, "ann")
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)

		msgs := e.inbox("q1", 1)
		ev := msgs[0].Event
		assert.Equal(t, history.WorkflowStarted, ev.Kind)
		assert.Equal(t, "start:run-1", ev.InboxID)
		assert.Equal(t, "run-1", ev.ExecutionID)
		assert.Equal(t, "Greet", ev.Name)
		assert.Equal(t, "q1", ev.Queue)
		assert.True(t, rec.CreatedAt.Equal(ev.Time))
		assert.Equal(t, "ann", decode[string](t, ev.Args[0]))
		assert.Equal(t, "run-1", e.record("stuck").ExecutionID)
	})
	t.Run("not for another workflow", func(t *testing.T) {
		e := newEnv(t)
		stuck(e, "stuck", nil)
		_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "stuck"}, Add, 1, 2)
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)
		e.noInbox("q1")
	})
	t.Run("not for the run after a continue-as-new", func(t *testing.T) {
		e := newEnv(t)
		inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "cont", Queue: "q1"}, Greet, "x")
		require.NoError(t, err)
		e.inbox("q1", 1)
		next, err := e.continueAsNew("cont") // the worker has not published the next start yet
		require.NoError(t, err)
		_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "cont"}, Greet, "y")
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)
		e.noInbox("q1")
		assert.Equal(t, []string{inst.ExecutionID}, e.record("cont").Runs)
		assert.Equal(t, next, e.record("cont").ExecutionID)
	})
	t.Run("for a new run of a reused ID", func(t *testing.T) {
		e := newEnv(t)
		first, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "again", Queue: "q1"}, Greet, "x")
		require.NoError(t, err)
		e.inbox("q1", 1)
		e.commit("again", first.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Greet"}, history.Event{Kind: history.WorkflowCompleted})
		e.finish("again", streams.StatusCompleted, "r", nil)
		// The second start's registry update lands, its publish does not.
		rec := e.record("again")
		rec.Runs = append(rec.Runs, rec.ExecutionID)
		rec.ExecutionID, rec.Status, rec.Result = "run-2", streams.StatusRunning, nil
		_, err = e.b.UpdateInstance(e.ctx, rec, rec.Revision)
		require.NoError(t, err)

		_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "again"}, Greet, "y")
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)
		ev := e.inbox("q1", 1)[0].Event
		assert.Equal(t, "start:run-2", ev.InboxID)
		assert.Equal(t, "y", decode[string](t, ev.Args[0]))
	})
	t.Run("not for a sub-workflow", func(t *testing.T) {
		e := newEnv(t)
		stuck(e, "child", &history.Parent{InstanceID: "p", ExecutionID: "pr", ScheduleID: 3})
		_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "child"}, Greet, "x")
		require.ErrorIs(t, err, ErrInstanceAlreadyExists)
		e.noInbox("q1")
	})
}
