package e2e

// Bad input on the client's entry points, end to end: a clear error at
// once, or a run that fails with a clear error, and nothing half-created.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// failureOf returns the *workflow.Error a failed run's result gives.
func failureOf(t *testing.T, err error) *workflow.Error {
	t.Helper()
	require.Error(t, err)
	var we *workflow.Error
	require.ErrorAs(t, err, &we, "a failed run gives a *workflow.Error: %v", err)
	return we
}

// assertNoInstance checks that id has no registry entry: nothing was
// half-created.
func (e *badEnv) assertNoInstance(id string) {
	e.t.Helper()
	_, err := e.c.DescribeWorkflowInstance(e.ctx, id)
	assert.ErrorIs(e.t, err, client.ErrInstanceNotFound, "instance %q was left in the registry", id)
}

func TestBadInputStartUnknownWorkflow(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	good := e.goodRun(1)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "unknown-wf"}, "NoSuchWorkflow", 1, "two")
	require.NoError(t, err, "a name is not checked at start: another worker of the queue may have it")
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	we := failureOf(t, err)
	assert.Equal(t, "UnknownWorkflow", we.Type)
	assert.Equal(t, `no worker of queue "default" has workflow "NoSuchWorkflow" registered`, we.Message)
	assert.True(t, engine.IsPermanent(err), "not retried")
	d, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
	require.NoError(t, err)
	assert.Equal(t, streams.StatusFailed, d.Status)
	good()

	// The ID is free for a run of a real workflow.
	inst, err = e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "unknown-wf"}, BIGood, 4)
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 8, res)
	e.inboxDrained(20 * time.Second)
}

func TestBadInputStartArguments(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	good := e.goodRun(1)

	// Checked at once for a function: nothing is written.
	refused := []struct {
		name string
		wf   any
		args []any
		want string
	}{
		{"wrong type", BIGood, []any{"six"}, "workflow BIGood(int): argument 1: string does not fit int"},
		{"too many", BIGood, []any{1, 2}, "workflow BIGood takes 1 arguments (int), got 2"},
		{"too few", BIGood, nil, "workflow BIGood takes 1 arguments (int), got 0"},
		{"a channel, by function", BIGood, []any{make(chan int)}, "chan int does not fit int"},
		{"a channel, by name", "BIGood", []any{make(chan int)}, "argument 1: msgpack: encode chan int"},
		{"a func, by name", "BIGood", []any{func() {}}, "argument 1: msgpack: encode func()"},
		{"an activity as workflow", BIDouble, []any{1}, "workflow.Context"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			id := "refused-" + strings.ReplaceAll(tt.name, " ", "-")
			inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: id}, tt.wf, tt.args...)
			require.Error(t, err)
			assert.Nil(t, inst)
			assert.Contains(t, err.Error(), tt.want)
			e.assertNoInstance(id)
		})
	}

	// By name the arguments are not checked: the run fails with an
	// ArgumentError that says which argument does not fit.
	failing := []struct {
		name string
		args []any
		want string
	}{
		{"wrong type", []any{"six"}, "workflow BIGood: argument 1: cannot decode into int"},
		{"a struct", []any{struct{ A, B int }{1, 2}}, "workflow BIGood: argument 1: cannot decode into int"},
		{"too many", []any{1, 2}, "workflow BIGood: takes 1 arguments (int), got 2"},
		{"too few", nil, "workflow BIGood: takes 1 arguments (int), got 0"},
	}
	for _, tt := range failing {
		t.Run("by name, "+tt.name, func(t *testing.T) {
			inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, "BIGood", tt.args...)
			require.NoError(t, err)
			_, err = client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
			we := failureOf(t, err)
			assert.Equal(t, workflow.ErrTypeArgument, we.Type)
			assert.Contains(t, we.Message, tt.want)
			assert.True(t, engine.IsPermanent(err))
		})
	}
	good()
	e.inboxDrained(20 * time.Second)
}

func TestBadInputStartOversize(t *testing.T) {
	e := newBadEnv(t, smallPayload, badInputOptions(), nil)
	good := e.goodRun(1)
	for _, size := range []int{smallPayload + 1, 10 * smallPayload} {
		_, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "too-big"}, "BIGood", strings.Repeat("x", size))
		require.ErrorIs(t, err, streams.ErrPayloadTooLarge)
		assert.Contains(t, err.Error(), "the server accepts 65536")
		e.assertNoInstance("too-big")
	}
	// A signal too large for the server: refused, the run unharmed.
	w, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "big-signal"}, BIWaiter)
	require.NoError(t, err)
	err = e.c.SignalWorkflow(e.ctx, w.InstanceID, "go", strings.Repeat("x", smallPayload))
	require.ErrorIs(t, err, streams.ErrPayloadTooLarge)
	_, err = client.QueryWorkflow[int](e.ctx, e.c, w, "n", strings.Repeat("x", smallPayload))
	require.ErrorIs(t, err, streams.ErrPayloadTooLarge)
	require.NoError(t, e.c.SignalWorkflow(e.ctx, w.InstanceID, "go", 3))
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, w, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 6, res)

	// The refused ID is free.
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "too-big"}, BIGood, 21)
	require.NoError(t, err)
	res, err = client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 42, res)
	good()
}

func TestBadInputInstanceIDsAndQueues(t *testing.T) {
	// Names are encoded into subjects, so anything that is valid UTF-8 and
	// not too long works: dots, wildcards, spaces, '=' (the encoding's
	// marker), non-ASCII, the longest allowed.
	queue := "orders.eu *> =x"
	longQueue := strings.Repeat("ü", streams.MaxQueueLength/2) // 64 bytes
	opts := badInputOptions()
	opts.Queues = []string{streams.DefaultQueue, queue, longQueue}
	e := newBadEnv(t, 0, opts, nil)

	okIDs := []string{
		"a.b", "*", ">", "a b", "=", "=YQ", "tab\there", "new\nline", "日本語", "-", "_",
		strings.Repeat("x", streams.MaxInstanceIDLength),
		strings.Repeat("é", streams.MaxInstanceIDLength/2) + "x", // 255 bytes
	}
	for i, id := range okIDs {
		q := []string{"", queue, longQueue}[i%3]
		inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: id, Queue: q}, BIWaiter)
		require.NoError(t, err, "id %q on queue %q", id, q)
		assert.Equal(t, id, inst.InstanceID)
		waitFor(t, 20*time.Second, "the waiter "+id+" to start", func() bool {
			n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "n")
			return err == nil && n == 0
		})
		require.NoError(t, e.c.SignalWorkflow(e.ctx, id, "go", i))
		res, err := client.GetWorkflowResult[int](e.ctx, e.c, &workflow.Instance{InstanceID: id}, 30*time.Second)
		require.NoError(t, err, "id %q", id)
		assert.Equal(t, 2*i, res)
		d, err := e.c.DescribeWorkflowInstance(e.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, d.InstanceID)
		require.NoError(t, e.c.RemoveWorkflowInstance(e.ctx, inst))
	}

	// An empty ID means a new one.
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIGood, 1)
	require.NoError(t, err)
	assert.NotEmpty(t, inst.InstanceID)

	badIDs := []struct {
		id, want string
	}{
		{strings.Repeat("x", streams.MaxInstanceIDLength+1), "limit is 255"},
		{strings.Repeat("é", 128), "limit is 255"}, // 256 bytes
		{string([]byte{'a', 0xff, 'b'}), "not valid UTF-8"},
		{string([]byte{0xc3}), "not valid UTF-8"}, // a cut multi-byte character
	}
	badQueues := []struct {
		queue, want string
	}{
		{strings.Repeat("q", streams.MaxQueueLength+1), "queue name is 65 bytes long, the limit is 64"},
		{strings.Repeat("ü", 33), "limit is 64"},
		{string([]byte{'q', 0xfe}), "queue name is not valid UTF-8"},
	}
	for _, b := range badIDs {
		_, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: b.id}, BIGood, 1)
		require.ErrorIs(t, err, streams.ErrInvalidName)
		assert.Contains(t, err.Error(), b.want)
	}
	for _, b := range badQueues {
		_, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "bad-queue", Queue: b.queue}, BIGood, 1)
		require.ErrorIs(t, err, streams.ErrInvalidName)
		assert.Contains(t, err.Error(), b.want)
		e.assertNoInstance("bad-queue")
	}
	page, err := e.c.ListWorkflowInstances(e.ctx, client.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, page.Instances, 1, "only the instance with the generated ID")
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 2, res)

	// A worker refuses a queue name that cannot be used, and says which.
	bad := badInputOptions()
	bad.Queues = []string{string([]byte{0xff})}
	w := worker.New(e.b, &bad)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	err = w.Start(ctx)
	require.ErrorIs(t, err, streams.ErrInvalidName)
	assert.Contains(t, err.Error(), "not valid UTF-8")
}

func TestBadInputClientOperationsOnMissingInstances(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	good := e.goodRun(1)
	missing := &workflow.Instance{InstanceID: "missing"}
	ops := map[string]func(inst *workflow.Instance) error{
		"signal":    func(inst *workflow.Instance) error { return e.c.SignalWorkflow(e.ctx, inst.InstanceID, "go", 1) },
		"cancel":    func(inst *workflow.Instance) error { return e.c.CancelWorkflowInstance(e.ctx, inst) },
		"terminate": func(inst *workflow.Instance) error { return e.c.TerminateWorkflowInstance(e.ctx, inst, "r") },
		"query": func(inst *workflow.Instance) error {
			_, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "n")
			return err
		},
		"result": func(inst *workflow.Instance) error {
			_, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 10*time.Second)
			return err
		},
		"remove": func(inst *workflow.Instance) error { return e.c.RemoveWorkflowInstance(e.ctx, inst) },
		"describe": func(inst *workflow.Instance) error {
			_, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
			return err
		},
		"history": func(inst *workflow.Instance) error {
			_, err := e.c.GetWorkflowHistory(e.ctx, inst)
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op(missing)
			require.ErrorIs(t, err, client.ErrInstanceNotFound)
			assert.Contains(t, err.Error(), `"missing"`)

			for _, bad := range []string{"", strings.Repeat("x", 256), string([]byte{0xff})} {
				err := op(&workflow.Instance{InstanceID: bad})
				require.ErrorIs(t, err, streams.ErrInvalidName, "instance ID %q", bad)
			}
		})
	}

	// Operations on a running and on a finished instance that do not fit.
	w, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "waiting"}, BIWaiter)
	require.NoError(t, err)
	err = e.c.RemoveWorkflowInstance(e.ctx, w)
	require.ErrorIs(t, err, client.ErrInstanceNotFinished)
	err = e.c.SignalWorkflow(e.ctx, w.InstanceID, "", 1)
	require.ErrorContains(t, err, "empty signal name")
	_, err = client.QueryWorkflow[int](e.ctx, e.c, w, "")
	require.ErrorContains(t, err, "empty query name")
	_, err = client.QueryWorkflow[int](e.ctx, e.c, w, "n", make(chan int))
	require.ErrorContains(t, err, "msgpack")
	err = e.c.SignalWorkflow(e.ctx, w.InstanceID, "go", make(chan int))
	require.ErrorContains(t, err, "msgpack")
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, w, -time.Second)
	require.ErrorContains(t, err, "negative timeout")
	wrongRun := &workflow.Instance{InstanceID: "waiting", ExecutionID: "no-such-run"}
	require.ErrorIs(t, e.c.CancelWorkflowInstance(e.ctx, wrongRun), client.ErrExecutionNotFound)
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, wrongRun, 10*time.Second)
	require.ErrorIs(t, err, client.ErrExecutionNotFound)
	_, err = e.c.GetWorkflowHistory(e.ctx, wrongRun)
	require.ErrorIs(t, err, client.ErrExecutionNotFound)
	require.ErrorContains(t, e.c.CancelWorkflowInstance(e.ctx, nil), "nil *workflow.Instance")
	require.ErrorContains(t, e.c.TerminateWorkflowInstance(e.ctx, nil, "r"), "nil *workflow.Instance")
	require.ErrorContains(t, e.c.RemoveWorkflowInstance(e.ctx, nil), "nil *workflow.Instance")
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, nil, time.Second)
	require.ErrorContains(t, err, "nil *workflow.Instance")

	// A result type that does not fit: a clear error naming both types.
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "typed"}, BIGood, 5)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[string](e.ctx, e.c, inst, 30*time.Second)
	require.ErrorContains(t, err, "the result of workflow BIGood")
	require.ErrorContains(t, err, "does not decode into string")
	_, err = client.GetWorkflowResult[struct{ A []int }](e.ctx, e.c, inst, 30*time.Second)
	require.ErrorContains(t, err, "does not decode into struct")
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err, "the stored result is unharmed")
	assert.Equal(t, 10, res)
	_, err = client.QueryWorkflow[string](e.ctx, e.c, w, "n")
	require.ErrorContains(t, err, `the answer to query "n" of instance "waiting" does not decode into string`)

	// The finished instance refuses requests that need a running one.
	for name, op := range map[string]func(inst *workflow.Instance) error{
		"signal": ops["signal"], "cancel": ops["cancel"], "terminate": ops["terminate"],
	} {
		require.ErrorIs(t, op(inst), client.ErrInstanceFinished, name)
	}

	// A signal whose payload does not decode into the channel's type is
	// dropped, with a log line; the run goes on.
	require.NoError(t, e.c.SignalWorkflow(e.ctx, w.InstanceID, "go", "not an int"))
	waitFor(t, 20*time.Second, "the undecodable signal to be logged", func() bool {
		return e.logs.count("dropped a signal whose payload does not decode", "signal=go") > 0
	})
	require.NoError(t, e.c.SignalWorkflow(e.ctx, w.InstanceID, "go", 8))
	res, err = client.GetWorkflowResult[int](e.ctx, e.c, w, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 16, res)
	good()
}

// Registration mistakes the worker's own tests do not cover.
type biActivities struct{}

func (*biActivities) BIDouble(ctx context.Context, n int) (int, error) { return n, nil }
func (*biActivities) BIOther(ctx context.Context) error                { return nil }

type biNoPointer struct{}

func (biNoPointer) Method(ctx context.Context) error { return nil }

func TestBadInputRegistration(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	w := worker.New(e.b, nil)
	var nilWorkflow func(workflow.Context) error
	var nilActivities *biActivities
	workflows := []struct {
		name string
		fn   any
		opts []worker.RegisterOption
		want string
	}{
		{"untyped nil", nil, nil, "is not a function"},
		{"typed nil", nilWorkflow, nil, "nil workflow function"},
		{"typed nil with a name", nilWorkflow, []worker.RegisterOption{worker.WithName("N")}, "nil workflow function"},
		{"anonymous", func(ctx workflow.Context) error { return nil }, nil, "anonymous function"},
		{"an activity", BIDouble, nil, "the first parameter must be a workflow.Context"},
		{"no error result", func(ctx workflow.Context) int { return 0 }, []worker.RegisterOption{worker.WithName("X")}, "must return error or (T, error)"},
		{"error not last", func(ctx workflow.Context) (error, int) { return nil, 0 }, []worker.RegisterOption{worker.WithName("X")}, "must return error or (T, error)"},
		{"three results", func(ctx workflow.Context) (int, int, error) { return 0, 0, nil }, []worker.RegisterOption{worker.WithName("X")}, "must return error or (T, error)"},
		{"a string", "BIGood", nil, "is not a function"},
	}
	for _, tt := range workflows {
		err := w.RegisterWorkflow(tt.fn, tt.opts...)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
	require.NoError(t, w.RegisterWorkflow(func(ctx workflow.Context) error { return nil }, worker.WithName("Named")),
		"an anonymous function with a name is fine")
	require.NoError(t, w.RegisterWorkflow(BIGood, worker.WithName("")), "an empty name means the function's name")
	require.NoError(t, w.RegisterWorkflow(BIGood), "the same function again changes nothing (as in the tester)")
	require.ErrorIs(t, w.RegisterWorkflow(func(ctx workflow.Context) error { return nil }, worker.WithName("BIGood")),
		worker.ErrAlreadyRegistered, "another function under a taken name")

	activities := []struct {
		name string
		a    any
		opts []worker.RegisterOption
		want string
	}{
		{"a workflow", BIGood, nil, "the first parameter must be a context.Context"},
		{"a struct value", biNoPointer{}, nil, "is not a function"},
		{"a pointer to a non-struct", new(int), nil, "is not a function"},
		{"a nil struct pointer", nilActivities, nil, "is not a function"},
		{"anonymous", func(ctx context.Context) error { return nil }, nil, "anonymous function"},
	}
	for _, tt := range activities {
		var err error
		require.NotPanics(t, func() { err = w.RegisterActivity(tt.a, tt.opts...) }, tt.name)
		require.Error(t, err, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
	}
	// A struct one of whose methods is taken registers none of them.
	require.NoError(t, w.RegisterActivity(BIDouble))
	require.ErrorIs(t, w.RegisterActivity(&biActivities{}), worker.ErrAlreadyRegistered)
	require.NoError(t, w.RegisterActivity((&biActivities{}).BIOther), "BIOther was not registered by the refused struct")

	// Lifecycle mistakes.
	require.ErrorContains(t, w.WaitForCompletion(), "not started")
	ctx, cancel := context.WithCancel(e.ctx)
	require.NoError(t, w.Start(ctx))
	require.ErrorContains(t, w.Start(ctx), "already started")
	cancel()
	require.NoError(t, w.WaitForCompletion())
	e.goodRun(3)() // the env's own worker was not disturbed
}

// Garbage in the instance registry (anyone with access to the bucket can
// write it): every client call on that instance says the entry is
// malformed, listing skips it with a log line, the rest works.
func TestBadInputRegistryGarbage(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	waiter := e.waiterRun()
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "garbled"}, BIGood, 1)
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	kv, err := e.b.JetStream().KeyValue(e.ctx, "wf_"+e.ns+"_instances")
	require.NoError(t, err)
	_, err = kv.Put(e.ctx, "garbled", []byte("{not json"))
	require.NoError(t, err)
	_, err = kv.Put(e.ctx, "=not-a-token", []byte(`{"instance_id": 7}`))
	require.NoError(t, err)

	calls := map[string]func() error{
		"describe": func() error { _, err := e.c.DescribeWorkflowInstance(e.ctx, "garbled"); return err },
		"signal":   func() error { return e.c.SignalWorkflow(e.ctx, "garbled", "go", 1) },
		"cancel":   func() error { return e.c.CancelWorkflowInstance(e.ctx, inst) },
		"result": func() error {
			_, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 10*time.Second)
			return err
		},
		"query": func() error {
			_, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "n")
			return err
		},
		"history": func() error { _, err := e.c.GetWorkflowHistory(e.ctx, inst); return err },
		"remove":  func() error { return e.c.RemoveWorkflowInstance(e.ctx, inst) },
		"start again": func() error {
			_, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "garbled"}, BIGood, 1)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		require.ErrorIs(t, err, history.ErrMalformed, name)
		assert.Contains(t, err.Error(), "instance record", name)
	}

	page, err := e.c.ListWorkflowInstances(e.ctx, client.ListOptions{})
	require.NoError(t, err)
	for _, in := range page.Instances {
		assert.NotEqual(t, "garbled", in.InstanceID)
	}
	assert.Positive(t, e.logs.count("skipping malformed registry entry"))
	_, err = e.c.ListWorkflowInstances(e.ctx, client.ListOptions{Cursor: "garbage"})
	require.Error(t, err)
	_, err = e.c.ListWorkflowInstances(e.ctx, client.ListOptions{Status: "sleeping"})
	require.ErrorContains(t, err, `unknown status "sleeping"`)
	_, err = e.c.ListWorkflowInstances(e.ctx, client.ListOptions{Limit: -1})
	require.ErrorContains(t, err, "out of range")

	e.goodRun(2)()
	waiter()
}
