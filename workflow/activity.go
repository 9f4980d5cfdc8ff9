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
//
// Every zero field takes its default, so the zero RetryOptions is the
// default policy (as in Temporal): a first retry after 1 s, each wait
// twice the previous one, at most 100 s apart, and no limit on attempts:
// the activity is retried until it succeeds, fails with a permanent error
// (NewPermanentError), or its timeouts end it — ScheduleToCloseTimeout or
// RetryTimeout. An activity with neither (only StartToCloseTimeout, or no
// timeout at all) that keeps failing is retried for ever, as in Temporal:
// set MaxAttempts, RetryTimeout or ScheduleToCloseTimeout to bound it.
type RetryOptions struct {
	// MaxAttempts is the total number of attempts, the first included:
	// 1 means no retry. 0 (or UnlimitedAttempts) means no limit: retry
	// until a timeout ends the activity.
	MaxAttempts int
	// FirstRetryInterval is the wait before the first retry (0 = 1 s).
	FirstRetryInterval time.Duration
	// MaxRetryInterval caps the wait between retries (0 = 100 times
	// FirstRetryInterval).
	MaxRetryInterval time.Duration
	// BackoffCoefficient multiplies the wait after each retry (0 = 2; a
	// value below 1 counts as 1).
	BackoffCoefficient float64
	// RetryTimeout stops retrying once this much time has passed since
	// the activity was scheduled (0 = no limit of its own).
	RetryTimeout time.Duration
}

// UnlimitedAttempts as RetryOptions.MaxAttempts says explicitly what 0
// means: retry until the activity's timeouts (ScheduleToCloseTimeout,
// RetryTimeout) end it.
const UnlimitedAttempts = -1

// The default retry policy's values, taken by the zero fields of
// RetryOptions.
const (
	DefaultFirstRetryInterval = time.Second
	DefaultBackoffCoefficient = 2.0
	// DefaultMaxRetryIntervalFactor times FirstRetryInterval is the
	// default cap between retries.
	DefaultMaxRetryIntervalFactor = 100
)

// WithDefaults returns the policy with every zero field replaced by its
// default: the policy that applies. No limit on attempts becomes
// UnlimitedAttempts.
func (r RetryOptions) WithDefaults() RetryOptions {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = history.UnlimitedAttempts
	}
	if r.FirstRetryInterval <= 0 {
		r.FirstRetryInterval = DefaultFirstRetryInterval
	}
	if r.BackoffCoefficient == 0 {
		r.BackoffCoefficient = DefaultBackoffCoefficient
	}
	if r.MaxRetryInterval <= 0 {
		r.MaxRetryInterval = DefaultMaxRetryIntervalFactor * r.FirstRetryInterval
	}
	return r
}

// Stored is the policy in the history's form (the retry fields of
// history.ActivityOptions), as given: call WithDefaults first for the
// policy that applies. A workflow's retry policy is stored this way.
func (r RetryOptions) Stored() *history.ActivityOptions {
	return &history.ActivityOptions{
		MaxAttempts:        r.MaxAttempts,
		FirstRetryInterval: r.FirstRetryInterval,
		MaxRetryInterval:   r.MaxRetryInterval,
		BackoffCoefficient: r.BackoffCoefficient,
		RetryTimeout:       r.RetryTimeout,
	}
}

// ActivityOptions are the options of one activity call.
type ActivityOptions struct {
	// Queue is the activity queue; empty means the workflow's queue.
	Queue string
	// RetryOptions is the retry policy; the zero value is the default
	// policy (see RetryOptions): retries until the timeouts end them.
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

// stored is the options in the history's form, with the retry policy's
// defaults filled in so the history shows the policy that applies.
func (o ActivityOptions) stored() history.ActivityOptions {
	r := o.RetryOptions.WithDefaults()
	return history.ActivityOptions{
		MaxAttempts:         r.MaxAttempts,
		FirstRetryInterval:  r.FirstRetryInterval,
		MaxRetryInterval:    r.MaxRetryInterval,
		BackoffCoefficient:  r.BackoffCoefficient,
		RetryTimeout:        r.RetryTimeout,
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
// Zero opts (ActivityOptions{}) mean the options ctx carries
// (WithActivityOptions), if any.
func ExecuteActivity[T any](ctx Context, opts ActivityOptions, activity any, args ...any) Future[T] {
	env := envOf(ctx)
	opts = activityOptionsFor(ctx, opts)
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
	hdr, err := header(ctx)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteActivity(%s): context propagation: %w", name, err))
		return f
	}
	var stop func()
	id := env.ScheduleActivity(wfenv.ActivityRequest{
		Name:    name,
		Queue:   opts.Queue,
		Args:    payloads,
		Options: opts.stored(),
		Header:  hdr,
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
