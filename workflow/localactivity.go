package workflow

import (
	"fmt"
	"reflect"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/wfenv"
)

// LocalActivityOptions are the options of one local activity call.
type LocalActivityOptions struct {
	// StartToCloseTimeout bounds one attempt (0 = ScheduleToCloseTimeout
	// if set, else DefaultLocalActivityTimeout).
	StartToCloseTimeout time.Duration
	// ScheduleToCloseTimeout bounds all attempts together, the waits
	// between them included (0 = no limit).
	ScheduleToCloseTimeout time.Duration
	// RetryOptions is the retry policy; the zero value is the default
	// policy (see RetryOptions), as for an activity.
	RetryOptions RetryOptions
}

// DefaultLocalActivityTimeout bounds an attempt of a local activity given
// neither StartToCloseTimeout nor ScheduleToCloseTimeout.
const DefaultLocalActivityTimeout = 10 * time.Second

// LocalRetryThreshold is the longest backoff a local activity waits for
// inside a workflow task before its next attempt. A longer one, or one
// that would take the call's attempts in the task past LocalTaskBudget,
// ends the task's attempts: the failure is recorded with the backoff, the
// workflow waits for it with a timer (a TimerScheduled in the history),
// and the next attempt runs in the task that timer starts.
const LocalRetryThreshold = 5 * time.Second

// LocalTaskBudget is how long the attempts of one local activity call may
// take inside one workflow task before a retry waits with a timer instead
// (see LocalRetryThreshold).
const LocalTaskBudget = 30 * time.Second

type localActivityOptionsKey struct{}

// WithLocalActivityOptions returns a context carrying opts:
// ExecuteLocalActivity calls given the zero LocalActivityOptions{} under
// it (or a context derived from it) use opts instead, as
// WithActivityOptions does for activities.
func WithLocalActivityOptions(ctx Context, opts LocalActivityOptions) Context {
	return WithValue(ctx, localActivityOptionsKey{}, opts)
}

// GetLocalActivityOptions returns the local activity options ctx carries
// (set by WithLocalActivityOptions), or the zero LocalActivityOptions.
func GetLocalActivityOptions(ctx Context) LocalActivityOptions {
	o, _ := ctx.Value(localActivityOptionsKey{}).(LocalActivityOptions)
	return o
}

// stored is the options in the history's form, with the retry policy's
// defaults filled in.
func (o LocalActivityOptions) stored() history.ActivityOptions {
	r := o.RetryOptions.WithDefaults()
	s2c := o.StartToCloseTimeout
	if s2c <= 0 {
		s2c = o.ScheduleToCloseTimeout
	}
	if s2c <= 0 {
		s2c = DefaultLocalActivityTimeout
	}
	return history.ActivityOptions{
		MaxAttempts:        r.MaxAttempts,
		FirstRetryInterval: r.FirstRetryInterval,
		MaxRetryInterval:   r.MaxRetryInterval,
		BackoffCoefficient: r.BackoffCoefficient,
		RetryTimeout:       r.RetryTimeout,
		StartToClose:       s2c,
		ScheduleToClose:    o.ScheduleToCloseTimeout,
	}
}

// ExecuteLocalActivity runs a short activity inside the workflow worker,
// during the workflow task, and returns the future of its result. Its
// outcome is recorded in the history as one event (LocalActivityCompleted
// or LocalActivityFailed) committed with the task: no activity task is
// published, no result message is waited for. Replay takes the recorded
// outcome and does not run the function again.
//
// activity is an activity function (func(context.Context, args...) error
// or (T, error)), a method value on a struct pointer, or a registered
// activity's name. A function need not be registered: when an activity of
// its name is registered with the worker, that one runs (so a.Method on a
// nil *Activities works as for ExecuteActivity); otherwise the function
// value itself runs. A name must be registered. Arguments pass through the
// converter as for an activity.
//
// Zero opts (LocalActivityOptions{}) mean the options ctx carries
// (WithLocalActivityOptions), if any.
//
// Failed attempts are retried by opts.RetryOptions inside the task while
// the backoff is short (LocalRetryThreshold, LocalTaskBudget); a longer
// backoff is waited for with a workflow timer. A panic fails the attempt
// with a *PanicError holding the stack. Canceling ctx stops the call (its
// running attempt's context is canceled) and fails the future with
// Canceled. Local activities are for work of seconds: the task, and every
// other event of the run, waits for them.
func ExecuteLocalActivity[T any](ctx Context, opts LocalActivityOptions, activity any, args ...any) Future[T] {
	env := envOf(ctx)
	if opts == (LocalActivityOptions{}) {
		opts = GetLocalActivityOptions(ctx)
	}
	f := newFuture[T](env.Scheduler())
	var zero T
	name, err := callableName(activity, args, reflect.TypeFor[T](), checkActivity)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteLocalActivity: %w", err))
		return f
	}
	if ctx.Err() != nil {
		f.settle(zero, Canceled)
		return f
	}
	payloads, err := call.EncodeArgs(env, args)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteLocalActivity(%s): %w", name, err))
		return f
	}
	hdr, err := header(ctx)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.ExecuteLocalActivity(%s): context propagation: %w", name, err))
		return f
	}
	var fn any
	if _, byName := activity.(string); !byName {
		fn = activity
	}
	req := wfenv.LocalActivityRequest{
		Name: name, Fn: fn, Args: payloads, Header: hdr, Options: opts.stored(),
		Attempt: 1, ScheduledAt: env.Now(),
	}
	what := "local activity " + name
	var stop func()
	var cancelCurrent func()
	end := func(result []byte, err error) {
		if stop != nil {
			stop()
		}
		cancelCurrent = nil
		settleDecoded(env, f, what, result, err)
	}
	var issue func()
	issue = func() {
		seq := env.ExecuteLocalActivity(req, func(result []byte, err error, attempt int, retryAfter time.Duration) {
			if err == nil || retryAfter <= 0 {
				end(result, err)
				return
			}
			// Too long to wait inside a task: a timer, then the next
			// attempt as a new call.
			req.Attempt = attempt + 1
			id := env.ScheduleTimer(retryAfter, func(_ []byte, terr error) {
				if terr != nil {
					end(nil, terr)
					return
				}
				issue()
			})
			cancelCurrent = func() { env.CancelCommand(id) }
		})
		cancelCurrent = func() { env.CancelLocalActivity(seq) }
	}
	issue()
	if !f.settled {
		stop = ctx.impl().onCancel(func() {
			if cancelCurrent != nil {
				cancelCurrent()
			}
		})
	}
	return f
}
