package workflow

import (
	"fmt"
	"reflect"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/wfenv"
)

// RetryOptions is how an activity is retried after a failure. Retries wait
// FirstRetryInterval, then each wait is BackoffCoefficient times the
// previous one, capped at MaxRetryInterval.
type RetryOptions struct {
	// MaxAttempts is the total number of attempts; 0 counts as 1.
	MaxAttempts int
	// FirstRetryInterval is the wait before the first retry.
	FirstRetryInterval time.Duration
	// MaxRetryInterval caps the wait between retries (0 = no cap).
	MaxRetryInterval time.Duration
	// BackoffCoefficient multiplies the wait after each retry (0 counts
	// as 1).
	BackoffCoefficient float64
	// RetryTimeout stops retrying once this much time has passed since
	// the first attempt (0 = no limit).
	RetryTimeout time.Duration
}

// ActivityOptions are the options of one activity call.
type ActivityOptions struct {
	// Queue is the activity queue; empty means the workflow's queue.
	Queue string
	// RetryOptions is the retry policy.
	RetryOptions RetryOptions
	// StartToCloseTimeout bounds one attempt (0 = the worker's default).
	StartToCloseTimeout time.Duration
	// ScheduleToCloseTimeout bounds all attempts together (0 = no limit).
	ScheduleToCloseTimeout time.Duration
	// HeartbeatTimeout fails an attempt that has not heartbeated for this
	// long (0 = no heartbeat needed).
	HeartbeatTimeout time.Duration
	// WaitForCancellation makes the activity's future, when its context
	// is canceled, wait for the activity to end instead of resolving at
	// once with Canceled.
	WaitForCancellation bool
}

// DefaultRetryOptions tries an activity 3 times with exponential backoff
// from one second.
var DefaultRetryOptions = RetryOptions{
	MaxAttempts:        3,
	FirstRetryInterval: time.Second,
	MaxRetryInterval:   time.Minute,
	BackoffCoefficient: 2,
}

// DefaultActivityOptions runs an activity on the workflow's queue with
// DefaultRetryOptions.
var DefaultActivityOptions = ActivityOptions{RetryOptions: DefaultRetryOptions}

func (o ActivityOptions) stored() history.ActivityOptions {
	return history.ActivityOptions{
		MaxAttempts:         o.RetryOptions.MaxAttempts,
		FirstRetryInterval:  o.RetryOptions.FirstRetryInterval,
		MaxRetryInterval:    o.RetryOptions.MaxRetryInterval,
		BackoffCoefficient:  o.RetryOptions.BackoffCoefficient,
		RetryTimeout:        o.RetryOptions.RetryTimeout,
		StartToClose:        o.StartToCloseTimeout,
		ScheduleToClose:     o.ScheduleToCloseTimeout,
		Heartbeat:           o.HeartbeatTimeout,
		WaitForCancellation: o.WaitForCancellation,
	}
}

// ExecuteActivity schedules an activity and returns the future of its
// result. activity is an activity function (func(context.Context, args...)
// error or (T, error)), a method value on a struct pointer (a.Method, where a
// may be a nil *Activities), or the activity's registered name. For a
// function, args and T are checked against its signature and a mismatch
// fails the future at once. If ctx is already canceled the future fails at
// once with Canceled; if ctx is canceled later the activity is canceled.
func ExecuteActivity[T any](ctx Context, opts ActivityOptions, activity any, args ...any) Future[T] {
	env := envOf(ctx)
	f := newFuture[T](env.Scheduler())
	var zero T
	name, err := callableName(activity, args, reflect.TypeFor[T](), checkActivity)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteActivity: %w", err))
		return f
	}
	what := "activity " + name
	if ctx.Err() != nil {
		f.settle(zero, Canceled)
		return f
	}
	payloads, err := call.EncodeArgs(env, args)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteActivity(%s): %w", name, err))
		return f
	}
	var stop func()
	id := env.ScheduleActivity(wfenv.ActivityRequest{
		Name:    name,
		Queue:   opts.Queue,
		Args:    payloads,
		Options: opts.stored(),
	}, func(result []byte, err error) {
		if stop != nil {
			stop()
		}
		settleDecoded(env, f, what, result, err)
	})
	if !f.settled {
		stop = ctx.impl().onCancel(func() { env.CancelCommand(id) })
	}
	return f
}

func checkActivity(t reflect.Type) error { return funcinfo.CheckActivity(t) }

// callableName returns the name of an activity or workflow given as a
// function or a name, checking a function's shape, args and result type.
func callableName(fn any, args []any, result reflect.Type, checkShape func(reflect.Type) error) (string, error) {
	if name, ok := fn.(string); ok {
		if name == "" {
			return "", fmt.Errorf("empty name")
		}
		return name, nil
	}
	name, err := funcinfo.Name(fn)
	if err != nil {
		return "", err
	}
	t := reflect.TypeOf(fn)
	if err := checkShape(t); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if err := funcinfo.CheckArgs(t, 1, args); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if rt := funcinfo.ResultType(t); rt != nil && result.Kind() != reflect.Interface {
		if err := funcinfo.Fits(rt, result); err != nil {
			return "", fmt.Errorf("%s returns %v, which does not fit the result type %v", name, rt, result)
		}
	}
	return name, nil
}
