// Package actrun is how one activity attempt runs and ends: the call with
// its arguments and result through the converter, a panic turned into an
// error, the errors of its timeouts and of a cancel from the workflow, and
// the retry policy. The worker and the tester share it, so a policy waits
// and fails the same in a unit test as in production.
package actrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/jetflow/jetflow/workflow"
)

// Causes of an attempt's context ending other than the activity's own
// doing; Outcome turns them into the attempt's error.
var (
	ErrStartToClose       = errors.New("start-to-close timeout")
	ErrScheduleToClose    = errors.New("schedule-to-close timeout")
	ErrHeartbeat          = errors.New("heartbeat timeout")
	ErrCanceledByWorkflow = errors.New("canceled by its workflow")
)

// Limits are the timeouts of one attempt, for the messages of Outcome.
type Limits struct {
	StartToClose, ScheduleToClose, Heartbeat time.Duration
}

// Outcome is the error an attempt of activity name ends with when it
// returned err with its context ctx: err itself, unless ctx ended for
// one of the causes above.
func Outcome(ctx context.Context, name string, lim Limits, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	switch c := context.Cause(ctx); {
	case errors.Is(c, ErrStartToClose):
		return TimeoutError(name, c, lim.StartToClose)
	case errors.Is(c, ErrScheduleToClose):
		return TimeoutError(name, c, lim.ScheduleToClose)
	case errors.Is(c, ErrHeartbeat):
		return TimeoutError(name, c, lim.Heartbeat)
	case errors.Is(c, ErrCanceledByWorkflow):
		return CanceledError(name)
	}
	return err
}

// AsyncTimeout is the failure of an asynchronous activity call (one left
// pending for client.CompleteActivity) whose timeout cause, of length d,
// passed before its outcome came. Like every asynchronous outcome it is
// final.
func AsyncTimeout(name string, cause error, d time.Duration) *history.Failure {
	return &history.Failure{Type: workflow.ErrTypeTimeout, Message: TimeoutError(name, cause, d).Error(), NonRetryable: true}
}

// TimeoutError is the error of an attempt out of time; a schedule-to-close
// timeout is final.
func TimeoutError(name string, cause error, d time.Duration) error {
	err := workflow.NewError(workflow.ErrTypeTimeout, fmt.Sprintf("activity %s: %v of %s exceeded", name, cause, d))
	if errors.Is(cause, ErrScheduleToClose) {
		return workflow.NewPermanentError(err)
	}
	return err
}

// CanceledError is the final outcome of an activity its workflow canceled:
// a workflow that waits for the cancellation sees workflow.Canceled.
func CanceledError(name string) error {
	return workflow.NewPermanentError(fmt.Errorf("activity %s %w: %w", name, ErrCanceledByWorkflow, workflow.Canceled))
}

// ErrArgumentsUnavailable is the error (wrapped) of an attempt that could
// not decode its arguments for a reason of this worker, not of the
// arguments: a key it lacks, a stored object missing or unreachable
// (sentinel.PayloadUnavailable). The function was not called; the task is
// handed back for later, or for a worker that has the key, not failed.
var ErrArgumentsUnavailable = errors.New("activity arguments cannot be read by this worker")

// Invoke decodes the arguments, calls fn, and encodes its result. A panic
// becomes a *workflow.PanicError with the stack.
// A *registry.Dynamic (the catch-all activity) gets the name and the
// arguments undecoded.
func Invoke(ctx context.Context, fn any, args [][]byte, conv converter.Converter) (result []byte, err error) {
	var in []reflect.Value
	if d, ok := fn.(*registry.Dynamic); ok {
		fn = d.Fn
		in = []reflect.Value{reflect.ValueOf(d.Name), reflect.ValueOf(converter.NewEncodedValues(conv, args))}
	} else if in, err = call.DecodeArgs(conv, fn, 1, args); err != nil {
		if errors.Is(err, sentinel.PayloadUnavailable) {
			return nil, fmt.Errorf("%w: %w", ErrArgumentsUnavailable, err)
		}
		return nil, workflow.NewPermanentError(err)
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, &workflow.PanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	out := reflect.ValueOf(fn).Call(append([]reflect.Value{reflect.ValueOf(ctx)}, in...))
	if err := call.Err(out); err != nil {
		return nil, err
	}
	b, err := call.EncodeResult(conv, out)
	if err != nil {
		return nil, workflow.NewPermanentError(err)
	}
	return b, nil
}

// RetryDelay says whether an activity whose attempt (1 for the first)
// failed with err is tried again, and after how long, under its retry
// policy p; since is the time since it was scheduled. A stored MaxAttempts
// of 0 is one attempt, history.UnlimitedAttempts no limit (the policy's
// defaults are filled in when the activity is scheduled, see
// workflow.RetryOptions; the fallbacks here serve older histories).
func RetryDelay(p history.ActivityOptions, attempt int, since time.Duration, err error) (time.Duration, bool) {
	if engine.IsPermanent(err) {
		return 0, false
	}
	if p.MaxAttempts >= 0 && attempt >= max(p.MaxAttempts, 1) {
		return 0, false
	}
	delay := p.FirstRetryInterval
	if delay <= 0 {
		delay = time.Second
	}
	coef := p.BackoffCoefficient
	if coef < 1 {
		coef = 1
	}
	// In float64 first: after many attempts (no limit on them) the
	// product passes what a Duration holds, and converting it would wrap.
	limit := time.Duration(math.MaxInt64)
	if p.MaxRetryInterval > 0 {
		limit = p.MaxRetryInterval
	}
	if d := float64(delay) * math.Pow(coef, float64(attempt-1)); d < float64(limit) {
		delay = time.Duration(d)
	} else {
		delay = limit
	}
	if p.RetryTimeout > 0 && since+delay > p.RetryTimeout {
		return 0, false
	}
	if p.ScheduleToClose > 0 && since+delay > p.ScheduleToClose {
		return 0, false
	}
	return delay, true
}

// LocalAttempt runs attempt n of a local activity with ctx, which carries
// the attempt's timeout.
type LocalAttempt func(ctx context.Context, n int) ([]byte, error)

// LocalClock is the time a local activity's attempts are measured by:
// the wall clock in a worker, the mock clock in the tester. Sleep waits
// for d or until ctx ends (then it returns ctx's error). RetryThreshold
// is the longest backoff waited for inside a task (0 =
// workflow.LocalRetryThreshold).
type LocalClock struct {
	Now            func() time.Time
	Sleep          func(ctx context.Context, d time.Duration) error
	RetryThreshold time.Duration
}

// RunLocal runs the attempts of a local activity call that belong in one
// workflow task: attempt after attempt, waiting the retry policy's backoff
// between them, until one succeeds, the policy gives up, or the next wait
// is too long for the task (workflow.LocalRetryThreshold,
// workflow.LocalTaskBudget), which the outcome's RetryAfter then says.
// Each attempt gets its StartToClose timeout (cut short by what remains of
// ScheduleToClose); an attempt that does not return by then is left
// behind and fails with a Timeout error.
func RunLocal(ctx context.Context, t engine.LocalActivityTask, clock LocalClock, attempt LocalAttempt) engine.LocalActivityOutcome {
	p := t.Options
	start := clock.Now()
	threshold := clock.RetryThreshold
	if threshold <= 0 {
		threshold = workflow.LocalRetryThreshold
	}
	for n := max(t.Attempt, 1); ; n++ {
		result, err := localAttempt(ctx, t, clock, n, attempt)
		if errors.Is(err, actenv.ErrResultPending) {
			return engine.LocalActivityOutcome{Attempt: n, Err: workflow.NewPermanentError(
				fmt.Errorf("local activity %s returned activity.ErrResultPending: a local activity cannot complete asynchronously", t.Name))}
		}
		if err == nil {
			return engine.LocalActivityOutcome{Result: result, Attempt: n}
		}
		if ctx.Err() != nil {
			return engine.LocalActivityOutcome{Err: workflow.Canceled, Attempt: n}
		}
		delay, ok := RetryDelay(p, n, clock.Now().Sub(t.ScheduledAt), err)
		if !ok {
			return engine.LocalActivityOutcome{Err: err, Attempt: n}
		}
		if delay > threshold || clock.Now().Sub(start)+delay > workflow.LocalTaskBudget {
			return engine.LocalActivityOutcome{Err: err, Attempt: n, RetryAfter: delay}
		}
		if clock.Sleep(ctx, delay) != nil {
			return engine.LocalActivityOutcome{Err: workflow.Canceled, Attempt: n}
		}
	}
}

// localAttempt runs one attempt within its timeout.
func localAttempt(ctx context.Context, t engine.LocalActivityTask, clock LocalClock, n int, attempt LocalAttempt) ([]byte, error) {
	p := t.Options
	lim := Limits{StartToClose: p.StartToClose, ScheduleToClose: p.ScheduleToClose}
	timeout, cause := p.StartToClose, ErrStartToClose
	if p.ScheduleToClose > 0 {
		left := t.ScheduledAt.Add(p.ScheduleToClose).Sub(clock.Now())
		if left <= 0 {
			return nil, TimeoutError(t.Name, ErrScheduleToClose, p.ScheduleToClose)
		}
		if timeout <= 0 || left < timeout {
			timeout, cause = left, ErrScheduleToClose
		}
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if timeout > 0 {
		var stop context.CancelFunc
		actx, stop = context.WithTimeoutCause(actx, timeout, cause)
		defer stop()
	}
	type outcome struct {
		result []byte
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := attempt(actx, n)
		done <- outcome{r, err}
	}()
	select {
	case o := <-done:
		return o.result, Outcome(actx, t.Name, lim, o.err)
	case <-actx.Done():
		// The function may not watch its context: the task does not
		// wait for it.
		select {
		case o := <-done:
			return o.result, Outcome(actx, t.Name, lim, o.err)
		default:
		}
		return nil, Outcome(actx, t.Name, lim, context.Cause(actx))
	}
}
