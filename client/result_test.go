package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func TestGetWorkflowResult(t *testing.T) {
	tests := []struct {
		name    string
		status  streams.Status
		result  any
		failure *history.Failure
		// wait calls GetWorkflowResult with the T of the case.
		wait  func(ctx context.Context, c *Client, inst *workflow.Instance) (any, error)
		want  any
		check func(t *testing.T, err error)
	}{
		{
			name: "completed string", status: streams.StatusCompleted, result: "hello ann",
			wait: waitFor[string], want: "hello ann",
		},
		{
			name: "completed struct", status: streams.StatusCompleted, result: Order{ID: "7", Items: []string{"a", "b"}, Total: 2.5},
			wait: waitFor[Order], want: Order{ID: "7", Items: []string{"a", "b"}, Total: 2.5},
		},
		{
			name: "completed int into int64", status: streams.StatusCompleted, result: 42,
			wait: waitFor[int64], want: int64(42),
		},
		{
			name: "completed without a result", status: streams.StatusCompleted,
			wait: waitFor[Order], want: Order{},
		},
		{
			name: "completed into any", status: streams.StatusCompleted, result: "x",
			wait: waitFor[any], want: "x",
		},
		{
			name: "result of another type", status: streams.StatusCompleted, result: "not a number",
			wait: waitFor[int],
			check: func(t *testing.T, err error) {
				assert.ErrorContains(t, err, "does not decode into int")
				assert.ErrorContains(t, err, "workflow Greet")
			},
		},
		{
			name: "failed with a typed error", status: streams.StatusFailed,
			failure: engine.FailureFromError(workflow.NewError("OutOfStock", "item 7 is out of stock")),
			wait:    waitFor[string],
			check: func(t *testing.T, err error) {
				assert.EqualError(t, err, "item 7 is out of stock")
				var we *workflow.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, "OutOfStock", we.Type)
			},
		},
		{
			name: "failed with a plain error", status: streams.StatusFailed,
			failure: engine.FailureFromError(errors.New("boom")),
			wait:    waitFor[string],
			check: func(t *testing.T, err error) {
				assert.EqualError(t, err, "boom")
			},
		},
		{
			name: "failed permanently", status: streams.StatusFailed,
			failure: engine.FailureFromError(workflow.NewPermanentError(workflow.NewError("Bad", "no retry"))),
			wait:    waitFor[string],
			check: func(t *testing.T, err error) {
				assert.EqualError(t, err, "no retry")
				var we *workflow.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, "Bad", we.Type)
				assert.True(t, engine.IsPermanent(err))
			},
		},
		{
			name: "panicked", status: streams.StatusFailed,
			failure: &history.Failure{Type: workflow.ErrTypePanic, Message: "index out of range", Stack: "goroutine 7 [running]:"},
			wait:    waitFor[string],
			check: func(t *testing.T, err error) {
				var pe *workflow.PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "index out of range", pe.Value)
				assert.Equal(t, "goroutine 7 [running]:", pe.Stack)
			},
		},
		{
			name: "failed without a failure", status: streams.StatusFailed,
			wait: waitFor[string],
			check: func(t *testing.T, err error) {
				assert.ErrorContains(t, err, "failed without an error")
			},
		},
		{
			name: "canceled", status: streams.StatusCanceled,
			wait: waitFor[string],
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrWorkflowCanceled)
				assert.NotErrorIs(t, err, ErrWorkflowTerminated)
			},
		},
		{
			name: "terminated with a reason", status: streams.StatusTerminated,
			failure: &history.Failure{Message: "stuck for a week"},
			wait:    waitFor[string],
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrWorkflowTerminated)
				assert.ErrorContains(t, err, "stuck for a week")
			},
		},
		{
			name: "terminated without a reason", status: streams.StatusTerminated,
			wait: waitFor[string],
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrWorkflowTerminated)
			},
		},
	}
	for _, tt := range tests {
		for _, when := range []string{"before the wait", "during the wait"} {
			t.Run(tt.name+"/"+when, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{}, Greet, "ann")
				require.NoError(t, err)
				finish := func() error { return e.tryFinish(inst.InstanceID, tt.status, tt.result, tt.failure) }
				done := func() error { return nil }
				if when == "before the wait" {
					require.NoError(t, finish())
				} else {
					done = e.worker(finish)
				}

				got, err := tt.wait(e.ctx, e.c, inst)
				require.NoError(t, done())
				if tt.check != nil {
					require.Error(t, err)
					tt.check(t, err)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		}
	}
}

// waitFor calls GetWorkflowResult[T] with a generous timeout.
func waitFor[T any](ctx context.Context, c *Client, inst *workflow.Instance) (any, error) {
	return GetWorkflowResult[T](ctx, c, inst, 20*time.Second)
}

func TestGetWorkflowResultWaitEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "slow"}, Greet, "ann")
	require.NoError(t, err)

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := GetWorkflowResult[string](e.ctx, e.c, inst, 300*time.Millisecond)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "within 300ms")
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	})
	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
		defer cancel()
		_, err := GetWorkflowResult[string](ctx, e.c, inst, 0)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("context canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(e.ctx)
		e.c.beforeWait = func(string) { cancel() }
		defer func() { e.c.beforeWait = nil }()
		_, err := GetWorkflowResult[string](ctx, e.c, inst, time.Minute)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("instance removed meanwhile", func(t *testing.T) {
		done := e.worker(func() error {
			if err := e.b.DeleteInstance(e.ctx, "slow"); err != nil {
				return err
			}
			return e.b.PublishResultNotice(streams.ResultNotice{InstanceID: "slow"})
		})
		_, err := GetWorkflowResult[string](e.ctx, e.c, inst, 20*time.Second)
		require.NoError(t, done())
		require.ErrorIs(t, err, ErrInstanceNotFound)
	})
}

func TestGetWorkflowResultRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "known"}, Greet, "ann")
	require.NoError(t, err)

	tests := []struct {
		name    string
		inst    *workflow.Instance
		timeout time.Duration
		is      error
		text    string
	}{
		{name: "unknown instance", inst: &workflow.Instance{InstanceID: "nope"}, timeout: time.Second, is: ErrInstanceNotFound},
		{name: "unknown run", inst: &workflow.Instance{InstanceID: "known", ExecutionID: "other"}, timeout: time.Second,
			is: ErrExecutionNotFound, text: inst.ExecutionID},
		{name: "nil instance", text: "nil *workflow.Instance"},
		{name: "empty instance ID", inst: &workflow.Instance{}, is: streams.ErrInvalidName},
		{name: "negative timeout", inst: inst, timeout: -time.Second, text: "negative timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := GetWorkflowResult[string](e.ctx, e.c, tt.inst, tt.timeout)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.ErrorContains(t, err, tt.text)
		})
	}
	_, err = GetWorkflowResult[string](e.ctx, e.c, &workflow.Instance{InstanceID: "nope"}, 0)
	assert.ErrorIs(t, err, workflow.ErrInstanceNotFound, "the same sentinel as package workflow's")
}

func TestGetWorkflowResultFollowsContinueAsNew(t *testing.T) {
	for _, tt := range []struct {
		name string
		// ask picks the instance to wait for from the first run.
		ask func(first *workflow.Instance) *workflow.Instance
	}{
		{"latest run", func(first *workflow.Instance) *workflow.Instance {
			return &workflow.Instance{InstanceID: first.InstanceID}
		}},
		{"first run", func(first *workflow.Instance) *workflow.Instance { return first }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			first, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "loop"}, Add, 1, 2)
			require.NoError(t, err)
			var runs []string
			cont := func() error {
				run, err := e.continueAsNew("loop")
				runs = append(runs, run)
				return err
			}
			done := e.worker(cont, cont, func() error { return e.tryFinish("loop", streams.StatusCompleted, 7, nil) })

			got, err := GetWorkflowResult[int](e.ctx, e.c, tt.ask(first), 20*time.Second)
			require.NoError(t, done())
			require.NoError(t, err)
			assert.Equal(t, 7, got)
			rec := e.record("loop")
			assert.Equal(t, []string{first.ExecutionID, runs[0]}, rec.Runs)
			assert.Equal(t, runs[1], rec.ExecutionID)

			// Once the instance has moved on, the first run still leads to
			// the result.
			got, err = GetWorkflowResult[int](e.ctx, e.c, first, time.Second)
			require.NoError(t, err)
			assert.Equal(t, 7, got)
		})
	}
}

func TestGetWorkflowResultOfAnEarlierRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type ended struct {
		final  history.Event
		status streams.Status
		check  func(t *testing.T, got int, err error)
	}
	cases := []ended{
		{final: history.Event{Kind: history.WorkflowCompleted, Result: encode(t, 5)}, status: streams.StatusCompleted,
			check: func(t *testing.T, got int, err error) {
				require.NoError(t, err)
				assert.Equal(t, 5, got)
			}},
		{final: history.Event{Kind: history.WorkflowFailed, Failure: &history.Failure{Type: "T", Message: "m"}}, status: streams.StatusFailed,
			check: func(t *testing.T, got int, err error) {
				var we *workflow.Error
				require.ErrorAs(t, err, &we)
				assert.Equal(t, "T", we.Type)
				assert.EqualError(t, err, "m")
			}},
		{final: history.Event{Kind: history.WorkflowTerminated, Reason: "because"}, status: streams.StatusTerminated,
			check: func(t *testing.T, got int, err error) {
				require.ErrorIs(t, err, ErrWorkflowTerminated)
				assert.ErrorContains(t, err, "because")
				assert.ErrorContains(t, err, "workflow Add")
			}},
		{final: history.Event{Kind: history.WorkflowCanceled}, status: streams.StatusCanceled,
			check: func(t *testing.T, got int, err error) {
				require.ErrorIs(t, err, ErrWorkflowCanceled)
			}},
	}
	// Each case is a run of the same instance; the ID is reused after each.
	var runs []*workflow.Instance
	for _, cs := range cases {
		inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "reused"}, Add, 1, 2)
		require.NoError(t, err)
		e.commit("reused", inst.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Add"}, cs.final)
		e.finish("reused", cs.status, nil, nil)
		runs = append(runs, inst)
	}
	last, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "reused"}, Greet, "x")
	require.NoError(t, err)
	for i, cs := range cases {
		got, err := GetWorkflowResult[int](e.ctx, e.c, runs[i], time.Second)
		cs.check(t, got, err)
	}
	// The latest run is still running.
	_, err = GetWorkflowResult[string](e.ctx, e.c, last, 100*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// An earlier run whose history is gone cannot tell its outcome.
	require.NoError(t, e.b.DeleteHistory(e.ctx, "reused"))
	_, err = GetWorkflowResult[int](e.ctx, e.c, runs[0], time.Second)
	require.ErrorContains(t, err, "does not say how it ended")
}

func TestGetWorkflowResultPollsWhenANoticeIsLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.c.pollInterval = 50 * time.Millisecond
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{}, Greet, "ann")
	require.NoError(t, err)
	// The run ends, but its notice never arrives.
	result := encode(t, "late")
	done := e.worker(func() error {
		rec, err := e.b.GetInstance(e.ctx, inst.InstanceID)
		if err != nil {
			return err
		}
		rec.Status = streams.StatusCompleted
		rec.Result = result
		_, err = e.b.UpdateInstance(e.ctx, rec, rec.Revision)
		return err
	})
	got, err := GetWorkflowResult[string](e.ctx, e.c, inst, 20*time.Second)
	require.NoError(t, done())
	require.NoError(t, err)
	assert.Equal(t, "late", got)
}

// A notice that carries the outcome of the awaited run ends the wait
// without another registry read; one about another run does not.
func TestGetWorkflowResultTakesTheOutcomeFromTheNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "noticed"}, Greet, "ann")
	require.NoError(t, err)
	fromNotice, err := converter.Default.Encode("from the notice")
	require.NoError(t, err)

	done := e.worker(func() error {
		// Another run's outcome first: not the awaited one.
		if err := e.b.PublishResultNotice(streams.ResultNotice{InstanceID: "noticed", ExecutionID: "some-other-run",
			Status: streams.StatusCompleted, Outcome: true, Result: []byte{0xc0}}); err != nil {
			return err
		}
		// The registry still says running: only the notice tells.
		return e.b.PublishResultNotice(streams.ResultNotice{InstanceID: "noticed", ExecutionID: inst.ExecutionID,
			Status: streams.StatusCompleted, Outcome: true, WorkflowName: "Greet", Result: fromNotice})
	})
	got, err := GetWorkflowResult[string](e.ctx, e.c, inst, 20*time.Second)
	require.NoError(t, done())
	require.NoError(t, err)
	assert.Equal(t, "from the notice", got)

	// A failure travels the same way.
	inst2, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "noticed-2"}, Greet, "bob")
	require.NoError(t, err)
	done = e.worker(func() error {
		return e.b.PublishResultNotice(streams.ResultNotice{InstanceID: "noticed-2", ExecutionID: inst2.ExecutionID,
			Status: streams.StatusFailed, Outcome: true, WorkflowName: "Greet", Failure: &history.Failure{Type: "Refused", Message: "no"}})
	})
	_, err = GetWorkflowResult[string](e.ctx, e.c, inst2, 20*time.Second)
	require.NoError(t, done())
	var wfErr *workflow.Error
	require.ErrorAs(t, err, &wfErr)
	assert.Equal(t, "Refused", wfErr.Type)
}

// GetRunEnd reads one run's own end: a run that continued as new gives the
// arguments it passed on, where GetWorkflowResult follows it.
func TestGetRunEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "ends"}, Add, 1, 2)
	require.NoError(t, err)
	_, err = e.c.GetRunEnd(e.ctx, first)
	require.ErrorIs(t, err, ErrInstanceNotFinished, "a running run has no end yet")

	args, err := call.EncodeArgs(nil, []any{3, 4})
	require.NoError(t, err)
	e.commit("ends", first.ExecutionID, history.Event{Kind: history.WorkflowStarted, Name: "Add"},
		history.Event{Kind: history.WorkflowContinuedAsNew, Args: args})
	next := streams.ContinuedRunID(first.ExecutionID)
	rec := e.record("ends")
	rec.ContinueTo(next, time.Now())
	_, err = e.b.UpdateInstance(e.ctx, rec, rec.Revision)
	require.NoError(t, err)
	result, err := converter.Default.Encode(7)
	require.NoError(t, err)
	e.commit("ends", next, history.Event{Kind: history.WorkflowStarted, Name: "Add"},
		history.Event{Kind: history.WorkflowCompleted, Result: result})
	e.finish("ends", streams.StatusCompleted, 7, nil)

	end, err := e.c.GetRunEnd(e.ctx, first)
	require.NoError(t, err)
	assert.Equal(t, history.WorkflowContinuedAsNew, end.Kind)
	assert.Equal(t, next, end.ContinuedAs)
	require.Len(t, end.EncodedArgs, 2)
	var a int
	require.NoError(t, e.c.Converter().Decode(end.EncodedArgs[0], &a))
	assert.Equal(t, 3, a)

	end, err = e.c.GetRunEnd(e.ctx, &workflow.Instance{InstanceID: "ends"})
	require.NoError(t, err)
	assert.Equal(t, streams.StatusCompleted, end.Status)
	assert.Equal(t, result, end.EncodedResult)

	got, err := GetWorkflowResult[int](e.ctx, e.c, first, time.Second)
	require.NoError(t, err)
	assert.Equal(t, 7, got, "GetWorkflowResult follows the first run to the end of the instance")

	_, err = e.c.GetRunEnd(e.ctx, &workflow.Instance{InstanceID: "ends", ExecutionID: streams.NewID()})
	require.ErrorIs(t, err, ErrExecutionNotFound)
}
