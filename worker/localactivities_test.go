package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// localFlakyGreet fails its first attempt.
func localFlakyGreet(ctx context.Context, name string) (string, error) {
	if activity.Attempt(ctx) == 1 {
		return "", errors.New("first attempt fails")
	}
	return "hi " + name, nil
}

func tracedLocal(ctx workflow.Context, name string) (string, error) {
	return workflow.ExecuteLocalActivity[string](ctx, workflow.LocalActivityOptions{
		RetryOptions: workflow.RetryOptions{FirstRetryInterval: time.Millisecond},
	}, localFlakyGreet, name).Get(ctx)
}

// Each attempt of a local activity is a span, a child of the workflow
// task that ran it.
func TestTraceOfALocalActivity(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	env := wftest.New(t, wftest.Options{
		Prefix:  "local",
		Streams: []streams.Option{streams.WithTracerProvider(tp)},
		Register: func(w *worker.Worker) {
			require.NoError(t, w.RegisterWorkflow(tracedLocal))
		},
	})
	ctx := testenv.Context(t, 30*time.Second)
	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, tracedLocal, "ann")
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[string](ctx, env.Client, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "hi ann", res)

	var attempts, tasks []sdktrace.ReadOnlySpan
	testenv.WaitFor(t, 10*time.Second, "the spans", func() bool {
		attempts, tasks = nil, nil
		for _, s := range spans.Ended() {
			switch s.Name() {
			case "RunLocalActivity localFlakyGreet":
				attempts = append(attempts, s)
			case "WorkflowTask tracedLocal":
				tasks = append(tasks, s)
			}
		}
		return len(attempts) == 2 && len(tasks) == 1
	})
	for _, a := range attempts {
		assert.Equal(t, tasks[0].SpanContext().SpanID(), a.Parent().SpanID(), "an attempt is a child of its task")
		assert.True(t, attr(a, "jetflow.activity.local").AsBool())
	}
	assert.Equal(t, "Error", attempts[0].Status().Code.String(), "the failed attempt carries its error")
}

// slowLocalRuns counts slowLocal's runs.
var slowLocalRuns atomic.Int32

// slowLocal runs longer than the queue's ack wait.
func slowLocal(ctx context.Context) (int, error) {
	slowLocalRuns.Add(1)
	select {
	case <-time.After(1500 * time.Millisecond):
		return 7, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func slowLocalWorkflow(ctx workflow.Context) (int, error) {
	return workflow.ExecuteLocalActivity[int](ctx, workflow.LocalActivityOptions{}, slowLocal).Get(ctx)
}

// A local activity that runs longer than the ack wait keeps its task's
// messages leased: a second worker does not take the task over and run
// the activity again.
func TestLocalActivityKeepsTheTaskLeased(t *testing.T) {
	const ackWait = 300 * time.Millisecond
	opts := &worker.Options{DisableExecutorCache: true, PollWait: 100 * time.Millisecond, TaskRetryDelay: 20 * time.Millisecond}
	register := func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(slowLocalWorkflow)) }
	env := wftest.New(t, wftest.Options{
		Prefix:   "lease",
		Streams:  []streams.Option{streams.WithAckWait(ackWait)},
		Worker:   opts,
		Register: register,
	})
	wftest.StartWorker(t, env.Backend, opts, register)
	ctx := testenv.Context(t, 30*time.Second)
	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, slowLocalWorkflow)
	require.NoError(t, err)
	res, err := client.GetWorkflowResult[int](ctx, env.Client, inst, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 7, res)
	assert.Equal(t, int32(1), slowLocalRuns.Load(), "the local activity ran once")
}
