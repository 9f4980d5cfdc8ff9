package workflow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

type Activities struct{ prefix string }

func (a *Activities) Greet(ctx context.Context, name string) (string, error) {
	return a.prefix + name, nil
}

func Multiply(ctx context.Context, a, b int64) (int64, error) { return a * b, nil }

func Notify(ctx context.Context, msgs ...string) error { return nil }

func TestExecuteActivityNamesAndOptions(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) error {
		var a *Activities
		opts := workflow.ActivityOptions{
			Queue:               "acts",
			RetryOptions:        workflow.RetryOptions{MaxAttempts: 5, BackoffCoefficient: 1.5},
			StartToCloseTimeout: 3,
			WaitForCancellation: true,
		}
		workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, "ann")
		workflow.ExecuteActivity[int64](ctx, opts, Multiply, 6, 7) // untyped constants fit int64
		workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, "ByName", 1, "x")
		workflow.ExecuteActivity[struct{}](ctx, workflow.DefaultActivityOptions, Notify, "a", "b")
		return nil
	})
	h := r.History()
	require.Equal(t, []history.Kind{history.WorkflowStarted, history.ActivityScheduled, history.ActivityScheduled,
		history.ActivityScheduled, history.ActivityScheduled, history.WorkflowCompleted}, enginetest.Kinds(h))
	assert.Equal(t, "Greet", h[1].Name)
	assert.Equal(t, "q1", h[1].Queue, "empty queue: the workflow's")
	assert.Equal(t, 3, h[1].Activity.MaxAttempts, "DefaultActivityOptions")
	assert.Equal(t, "Multiply", h[2].Name)
	assert.Equal(t, "acts", h[2].Queue)
	assert.Equal(t, history.ActivityOptions{MaxAttempts: 5, BackoffCoefficient: 1.5, StartToClose: 3, WaitForCancellation: true,
		FirstRetryInterval: time.Second, MaxRetryInterval: 100 * time.Second}, *h[2].Activity, "zero fields take the defaults")
	assert.Equal(t, int64(7), enginetest.Decode[int64](r, h[2].Args[1]))
	assert.Equal(t, "ByName", h[3].Name)
	assert.Equal(t, "Notify", h[4].Name)
	assert.Len(t, h[4].Args, 2)
}

// The zero RetryOptions is the default policy, stored as it applies:
// retries with backoff and no limit on attempts.
func TestZeroRetryOptionsAreTheDefaultPolicy(t *testing.T) {
	tests := []struct {
		name string
		in   workflow.RetryOptions
		want history.ActivityOptions
	}{
		{"zero", workflow.RetryOptions{}, history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts,
			FirstRetryInterval: time.Second, BackoffCoefficient: 2, MaxRetryInterval: 100 * time.Second}},
		{"explicitly unlimited", workflow.RetryOptions{MaxAttempts: workflow.UnlimitedAttempts, FirstRetryInterval: 2 * time.Second},
			history.ActivityOptions{MaxAttempts: history.UnlimitedAttempts, FirstRetryInterval: 2 * time.Second,
				BackoffCoefficient: 2, MaxRetryInterval: 200 * time.Second}},
		{"one attempt", workflow.RetryOptions{MaxAttempts: 1}, history.ActivityOptions{MaxAttempts: 1,
			FirstRetryInterval: time.Second, BackoffCoefficient: 2, MaxRetryInterval: 100 * time.Second}},
		{"given values stay", workflow.RetryOptions{MaxAttempts: 4, FirstRetryInterval: time.Millisecond, BackoffCoefficient: 3,
			MaxRetryInterval: time.Second, RetryTimeout: time.Minute}, history.ActivityOptions{MaxAttempts: 4,
			FirstRetryInterval: time.Millisecond, BackoffCoefficient: 3, MaxRetryInterval: time.Second, RetryTimeout: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, func(ctx workflow.Context) error {
				workflow.ExecuteActivity[struct{}](ctx, workflow.ActivityOptions{RetryOptions: tt.in}, Notify)
				return nil
			})
			assert.Equal(t, tt.want, *r.Last(history.ActivityScheduled, "Notify").Activity)
		})
	}
}

func TestExecuteActivityChecksArguments(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx workflow.Context) error
		want string
	}{
		{"too few", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[int64](ctx, workflow.DefaultActivityOptions, Multiply, 1).Get(ctx)
			return err
		}, "workflow.ExecuteActivity: Multiply: takes 2 arguments (int64, int64), got 1"},
		{"wrong type", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[int64](ctx, workflow.DefaultActivityOptions, Multiply, 1, "2").Get(ctx)
			return err
		}, "workflow.ExecuteActivity: Multiply: argument 2: string does not fit int64"},
		{"wrong result type", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Multiply, 1, 2).Get(ctx)
			return err
		}, "workflow.ExecuteActivity: Multiply returns int64, which does not fit the result type string"},
		{"variadic", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, Notify, "a", 2).Get(ctx)
			return err
		}, "workflow.ExecuteActivity: Notify: argument 2: int does not fit string"},
		{"not an activity", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, Child, "a").Get(ctx)
			return err
		}, "workflow.ExecuteActivity: Child: func(workflow.Context, string) (int, error): the first parameter must be a context.Context"},
		{"anonymous", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, func(context.Context) error { return nil }).Get(ctx)
			return err
		}, "is an anonymous function"},
		{"not a function", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, 42).Get(ctx)
			return err
		}, "workflow.ExecuteActivity: int is not a function"},
		{"unencodable argument", func(ctx workflow.Context) error {
			_, err := workflow.ExecuteActivity[any](ctx, workflow.DefaultActivityOptions, "X", make(chan int)).Get(ctx)
			return err
		}, "workflow.ExecuteActivity(X): encode argument 1: msgpack: encode chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, func(ctx workflow.Context) (string, error) { return errString(tt.call(ctx)), nil })
			assert.Contains(t, enginetest.Result[string](r), tt.want)
			assert.Equal(t, []history.Kind{history.WorkflowStarted, history.WorkflowCompleted}, enginetest.Kinds(r.History()),
				"a rejected call schedules nothing")
		})
	}
}

func TestActivityResultsAndErrorsRoundTrip(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		var a *Activities
		f1 := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, "x")
		f2 := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, "y")
		f3 := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, a.Greet, "z")
		v, err := f1.Get(ctx)
		tr.add(v + " " + errString(err))
		_, err = f2.Get(ctx)
		var we *workflow.Error
		tr.add("typed: " + btoa(errors.As(err, &we)) + " " + we.Type + " " + we.Message + " permanent=" + btoa(engine.IsPermanent(err)))
		_, err = f3.Get(ctx)
		tr.add("decode: " + errString(err))
		return tr, nil
	})
	h := r.History()
	r.Do(
		r.ActivityCompleted(h[1].ID, "hello x"),
		r.ActivityFailed(h[2].ID, workflow.NewPermanentError(workflow.NewError("Declined", "card declined"))),
		r.ActivityCompleted(h[3].ID, 12),
	)
	got := enginetest.Result[[]string](r)
	require.Len(t, got, 3)
	assert.Equal(t, "hello x <nil>", got[0])
	assert.Equal(t, "typed: true Declined card declined permanent=true", got[1])
	assert.Contains(t, got[2], "decode: activity Greet: decode result into string: msgpack")
	r.ReplayCheck()
}
