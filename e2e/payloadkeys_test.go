package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func keyedWorkflow(_ workflow.Context, s string) (string, error) { return "got:" + s, nil }

func keyedActivity(_ context.Context, s string) (string, error) { return "act:" + s, nil }

// keyedActivityWorkflow runs keyedActivity on the queue "keyed-acts".
func keyedActivityWorkflow(ctx workflow.Context, s string) (string, error) {
	opts := workflow.DefaultActivityOptions
	opts.Queue = "keyed-acts"
	return workflow.ExecuteActivity[string](ctx, opts, keyedActivity, s).Get(ctx)
}

// keyedBackends makes backends of one namespace, each with an AES-GCM codec
// of the keys given (the first current).
func keyedBackends(t *testing.T) func(keys ...codec.Key) *streams.Backend {
	srv := testenv.Server(t)
	ns := testenv.UniqueName("keys")
	return func(keys ...codec.Key) *streams.Backend {
		return testenv.Backend(t, testenv.Conn(t, srv), streams.WithNamespace(ns),
			streams.WithCodec(aesCodec(t, keys[0], keys[1:]...)))
	}
}

// failedKinds are the history's failure events.
func failedKinds(t *testing.T, ctx context.Context, c *client.Client, inst *workflow.Instance) []history.Kind {
	h, err := c.GetWorkflowHistory(ctx, inst)
	require.NoError(t, err)
	var kinds []history.Kind
	for _, e := range h.Events {
		if e.Kind == history.WorkflowFailed || e.Kind == history.ActivityFailed {
			kinds = append(kinds, e.Kind)
		}
	}
	return kinds
}

// A run started under key A meets a worker that holds only key B: the
// run must not fail (the fault is the worker's keys); its task is retried,
// with a log line naming A, until a worker with A takes it.
func TestWorkerWithoutTheKeyLeavesTheRunRunning(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(keyedWorkflow)) }

	cA := client.New(backend(keyA))
	inst, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, keyedWorkflow, "x")
	require.NoError(t, err)

	logs := &syncBuffer{}
	_, stopB := wftest.StartWorker(t, backend(keyB), &worker.Options{
		TaskRetryDelay: 20 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}, register)
	testenv.WaitFor(t, 30*time.Second, "the task retried twice with a log naming key A, or the run failed", func() bool {
		return strings.Count(logs.String(), "key_id=A") >= 2 || len(failedKinds(t, ctx, cA, inst)) > 0
	})
	assert.Empty(t, failedKinds(t, ctx, cA, inst), "the run failed for want of a key")
	assert.Contains(t, logs.String(), "workflow task cannot read a payload")
	require.NoError(t, stopB())

	bBA := backend(keyB, keyA)
	wftest.Worker(t, bBA, nil, register)
	res, err := client.GetWorkflowResult[string](ctx, client.New(bBA), inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "got:x", res)
}

// An activity whose arguments were encrypted with key A, taken by a worker
// that holds only key B: the activity must not fail; the task is handed
// back, with a log line naming A, until a worker with A runs it.
func TestActivityWorkerWithoutTheKeyHandsTheTaskBack(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)

	// The workflow's worker writes under A and reads B (the results of
	// the activity worker that finally runs it).
	bAB := backend(keyA, keyB)
	wftest.Worker(t, bAB, nil, func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(keyedActivityWorkflow)) })
	cA := client.New(bAB)
	inst, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, keyedActivityWorkflow, "y")
	require.NoError(t, err)

	registerActivity := func(w *worker.Worker) { require.NoError(t, w.RegisterActivity(keyedActivity)) }
	logs := &syncBuffer{}
	_, stopB := wftest.StartWorker(t, backend(keyB), &worker.Options{
		Queues:         []string{"keyed-acts"},
		TaskRetryDelay: 20 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}, registerActivity)
	testenv.WaitFor(t, 30*time.Second, "the activity handed back twice with a log naming key A, or failed", func() bool {
		return strings.Count(logs.String(), "key_id=A") >= 2 || len(failedKinds(t, ctx, cA, inst)) > 0
	})
	assert.Empty(t, failedKinds(t, ctx, cA, inst), "the activity or the run failed for want of a key")
	assert.Contains(t, logs.String(), "activity arguments cannot be read by this worker")
	require.NoError(t, stopB())

	wftest.Worker(t, backend(keyB, keyA), &worker.Options{Queues: []string{"keyed-acts"}}, registerActivity)
	res, err := client.GetWorkflowResult[string](ctx, cA, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "act:y", res)
	assert.False(t, slices.Contains(failedKinds(t, ctx, cA, inst), history.ActivityFailed))
}

// secondTryActivity fails its first attempt and reports the attempt that
// succeeded.
func secondTryActivity(ctx context.Context, s string) (string, error) {
	if n := activity.Attempt(ctx); n < 2 {
		return "", fmt.Errorf("attempt %d fails", n)
	}
	return fmt.Sprintf("act:%s on attempt %d", s, activity.Attempt(ctx)), nil
}

// twoAttemptsWorkflow runs secondTryActivity on the queue "keyed-acts" with
// at most two attempts.
func twoAttemptsWorkflow(ctx workflow.Context, s string) (string, error) {
	opts := workflow.DefaultActivityOptions
	opts.Queue = "keyed-acts"
	opts.RetryOptions = workflow.RetryOptions{MaxAttempts: 2, FirstRetryInterval: 10 * time.Millisecond}
	return workflow.ExecuteActivity[string](ctx, opts, secondTryActivity, s).Get(ctx)
}

// Hand-backs by a worker that lacks the arguments' key are not attempts:
// an activity allowed two attempts, handed back several times first, still
// gets both (its first attempt fails), numbered 1 and 2.
func TestActivityHandBacksDoNotUseAttempts(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)

	bAB := backend(keyA, keyB)
	wftest.Worker(t, bAB, nil, func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(twoAttemptsWorkflow)) })
	cA := client.New(bAB)
	inst, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, twoAttemptsWorkflow, "z")
	require.NoError(t, err)

	registerActivity := func(w *worker.Worker) { require.NoError(t, w.RegisterActivity(secondTryActivity)) }
	logs := &syncBuffer{}
	_, stopB := wftest.StartWorker(t, backend(keyB), &worker.Options{
		Queues:         []string{"keyed-acts"},
		TaskRetryDelay: 10 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}, registerActivity)
	testenv.WaitFor(t, 30*time.Second, "the activity handed back three times", func() bool {
		return strings.Count(logs.String(), "handing the task back") >= 3
	})
	require.NoError(t, stopB())

	wftest.Worker(t, backend(keyB, keyA), &worker.Options{Queues: []string{"keyed-acts"}}, registerActivity)
	res, err := client.GetWorkflowResult[string](ctx, cA, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "act:z on attempt 2", res)
}

// A run whose activity result was encrypted with key A, replayed by a
// workflow worker that holds only key B: the workflow code must not see
// the error (it would fail the run); the task is retried, with a log line
// naming A, until a worker with A takes it.
func TestWorkflowWorkerWithoutTheKeyOfAResultRetries(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(keyedActivityWorkflow)) }

	// The activity's worker writes its result under A.
	wftest.Worker(t, backend(keyA, keyB), &worker.Options{Queues: []string{"keyed-acts"}},
		func(w *worker.Worker) { require.NoError(t, w.RegisterActivity(keyedActivity)) })
	cB := client.New(backend(keyB))
	inst, err := cB.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, keyedActivityWorkflow, "z")
	require.NoError(t, err)

	logs := &syncBuffer{}
	_, stopB := wftest.StartWorker(t, backend(keyB), &worker.Options{
		TaskRetryDelay:       20 * time.Millisecond,
		DisableExecutorCache: true,
		Logger:               slog.New(slog.NewTextHandler(logs, nil)),
	}, register)
	testenv.WaitFor(t, 30*time.Second, "the task retried twice with a log naming key A, or the run failed", func() bool {
		return strings.Count(logs.String(), "key_id=A") >= 2 || len(failedKinds(t, ctx, cB, inst)) > 0
	})
	assert.Empty(t, failedKinds(t, ctx, cB, inst), "the run failed for want of a key")
	require.NoError(t, stopB())

	wftest.Worker(t, backend(keyB, keyA), nil, register)
	res, err := client.GetWorkflowResult[string](ctx, cB, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "act:z", res)
}

// echoUntilDone answers the update "echo" until the signal "done".
func echoUntilDone(ctx workflow.Context) (string, error) {
	if err := workflow.SetUpdateHandler(ctx, "echo", func(_ workflow.Context, s string) (string, error) { return "echo:" + s, nil }); err != nil {
		return "", err
	}
	s, _ := workflow.NewSignalChannel[string](ctx, "done").Receive(ctx)
	return s, nil
}

// An update whose arguments were encrypted with key B, taken by a worker
// that holds only key A: the update must not be rejected (the caller would
// be told its update is wrong); the task is retried, with a log line
// naming B, until a worker with B applies it.
func TestWorkerWithoutTheKeyOfAnUpdateRetries(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(echoUntilDone)) }

	bA := backend(keyA)
	_, stop := wftest.StartWorker(t, bA, nil, register)
	cA := client.New(bA)
	inst, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, echoUntilDone)
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "the run's first task", func() bool {
		h, err := cA.GetWorkflowHistory(ctx, inst)
		return err == nil && len(h.Events) > 0
	})
	require.NoError(t, stop())

	logs := &syncBuffer{}
	_, stopA := wftest.StartWorker(t, backend(keyA), &worker.Options{
		TaskRetryDelay: 20 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}, register)
	type answer struct {
		s   string
		err error
	}
	answered := make(chan answer, 1)
	cBA := client.New(backend(keyB, keyA))
	go func() {
		s, err := client.UpdateWorkflow[string](ctx, cBA, client.UpdateOptions{Instance: inst, Name: "echo"}, "x")
		answered <- answer{s, err}
	}()
	testenv.WaitFor(t, 30*time.Second, "the task retried twice with a log naming key B, or the update answered", func() bool {
		return strings.Count(logs.String(), "key_id=B") >= 2 || len(answered) > 0
	})
	select {
	case a := <-answered:
		t.Fatalf("the update was answered by a worker without its key: %q, %v", a.s, a.err)
	default:
	}
	require.NoError(t, stopA())

	wftest.Worker(t, backend(keyA, keyB), nil, register)
	select {
	case a := <-answered:
		require.NoError(t, a.err)
		assert.Equal(t, "echo:x", a.s)
	case <-ctx.Done():
		t.Fatal("no answer to the update")
	}
}

// keyedDynamic is a catch-all workflow that decodes its first argument.
func keyedDynamic(_ workflow.Context, name string, args converter.EncodedValues) (any, error) {
	var s string
	if err := args.Get(0, &s); err != nil {
		return nil, err
	}
	return name + ":" + s, nil
}

// The catch-all workflow decodes its arguments itself: one encrypted with
// a key the worker lacks must fail the task, not the run, as for a
// registered workflow.
func TestDynamicWorkflowWithoutTheKeyLeavesTheRunRunning(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterDynamicWorkflow(keyedDynamic)) }

	cA := client.New(backend(keyA))
	inst, err := cA.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, "AnyName", "x")
	require.NoError(t, err)

	logs := &syncBuffer{}
	_, stopB := wftest.StartWorker(t, backend(keyB), &worker.Options{
		TaskRetryDelay: 20 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}, register)
	testenv.WaitFor(t, 30*time.Second, "the task retried twice with a log naming key A, or the run failed", func() bool {
		return strings.Count(logs.String(), "key_id=A") >= 2 || len(failedKinds(t, ctx, cA, inst)) > 0
	})
	assert.Empty(t, failedKinds(t, ctx, cA, inst), "the run failed for want of a key")
	require.NoError(t, stopB())

	bAB := backend(keyA, keyB)
	wftest.Worker(t, bAB, nil, register)
	res, err := client.GetWorkflowResult[string](ctx, client.New(bAB), inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "AnyName:x", res)
}

// echoQueryWorkflow answers the query "echo" until it is canceled.
func echoQueryWorkflow(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "echo", func(s string) (string, error) { return "echo:" + s, nil }); err != nil {
		return err
	}
	return workflow.Sleep(ctx, time.Hour)
}

// A query whose argument was encrypted with a key the worker lacks gets an
// error that says so: it matches ErrPayloadUnavailable and names the key
// through the client.
func TestQueryWithAnArgumentUnderAKeyTheWorkerLacks(t *testing.T) {
	backend := keyedBackends(t)
	keyA, keyB := testKey("A"), testKey("B")
	ctx := testenv.Context(t, 60*time.Second)

	bB := backend(keyB)
	logs := &syncBuffer{}
	wftest.Worker(t, bB, &worker.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))},
		func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(echoQueryWorkflow)) })
	cB := client.New(bB)
	inst, err := cB.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, echoQueryWorkflow)
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "the query answered under key B", func() bool {
		res, err := client.QueryWorkflow[string](ctx, cB, inst, "echo", "b")
		return err == nil && res == "echo:b"
	})

	_, err = client.QueryWorkflow[string](ctx, client.New(backend(keyA, keyB)), inst, "echo", "a")
	require.Error(t, err)
	assert.ErrorIs(t, err, streams.ErrPayloadUnavailable)
	assert.ErrorIs(t, err, codec.ErrKeyNotFound)
	knf, ok := errors.AsType[*codec.KeyNotFoundError](err)
	require.True(t, ok, "a *codec.KeyNotFoundError in %v", err)
	assert.Equal(t, "A", knf.KeyID)
	assert.Contains(t, err.Error(), `key "A"`)
	assert.Contains(t, logs.String(), "key_id=A")
}
