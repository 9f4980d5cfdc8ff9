package tester

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// errRunEnded is the cause of the context of an activity still running
// when its run ended.
var errRunEnded = errors.New("tester: the workflow run ended")

// activityTask is one activity call of a run, across its attempts.
type activityTask struct {
	env      *env
	run      *run
	ev       history.Event // its ActivityScheduled event
	opts     history.ActivityOptions
	attempt  int
	cancel   context.CancelCauseFunc // of the attempt running in wall time
	retry    *dueItem                // the next attempt, while waiting for it
	canceled bool                    // the workflow asked to cancel it
	done     bool                    // answered, or no longer wanted
	details  heartbeatDetails        // recorded by its attempts, for the next
	hbDue    *dueItem                // left pending: its heartbeat deadline
}

// attemptResult is how an attempt running in wall time ends.
type attemptResult struct {
	task    *activityTask
	attempt int
	result  []byte
	err     error
	end     time.Time
}

func (e *env) scheduleActivity(r *run, ev history.Event) {
	t := &activityTask{env: e, run: r, ev: ev}
	if ev.Activity != nil {
		t.opts = *ev.Activity
	}
	r.activities[ev.ID] = t
	e.startAttempt(t)
}

// startAttempt runs the next attempt of t: a mock answers at once (unless
// it returns a function to run), a registered activity runs in its own
// goroutine in wall time.
func (e *env) startAttempt(t *activityTask) {
	t.attempt++
	name := t.ev.Name
	if t.canceled {
		// As the worker: a cancel that came between two attempts stops
		// the next one from running.
		e.attemptDone(t, nil, actrun.CanceledError(name))
		return
	}
	if s2c := t.opts.ScheduleToClose; s2c > 0 && !e.now.Before(t.ev.Time.Add(s2c)) {
		e.attemptDone(t, nil, actrun.TimeoutError(name, actrun.ErrScheduleToClose, s2c))
		return
	}
	if hasExpectations(e.actMock, name) {
		ctx := activityContext{actenv.With(context.Background(), e.attemptEnv(t))}
		args, err := e.decodeForMock(e.actMock, name, e.actTypes[name], ctx, t.ev.Args)
		if err != nil {
			// As the worker: arguments that do not fit fail the activity
			// for good.
			e.attemptDone(t, nil, workflow.NewPermanentError(err))
			return
		}
		ret, userPanic, unexpected := callMock(e.actMock, name, args)
		if unexpected != "" {
			e.fail(fmt.Errorf("%w: activity %s%s (attempt %d), called by %v, matches no OnActivity expectation\n\n%s",
				ErrUnexpectedCall, name, formatCall(args), t.attempt, t.run, unexpected))
			return
		}
		if userPanic != nil {
			e.attemptDone(t, nil, userPanic)
			return
		}
		out, err := e.mockOutcome("activity", name, e.actTypes[name], ret, registry.CheckActivity)
		if err != nil {
			e.fail(err)
			return
		}
		if out.fn != nil {
			e.launch(t, out.fn)
			return
		}
		e.attemptDone(t, out.result, out.err)
		return
	}
	if fn, ok := e.reg.Activity(name); ok {
		e.launch(t, fn)
		return
	}
	args := e.decodeLoose(e.actTypes[name], t.ev.Args)
	e.fail(fmt.Errorf("%w: %v called activity %s%s, which has no mock (OnActivity) and is not registered (RegisterActivity)",
		ErrUnexpectedCall, t.run, name, formatArgs(args)))
}

// activityContext is the context a mocked activity gets: an activity's
// context, which testify's messages show as "ctx".
type activityContext struct{ context.Context }

// String names the context in testify's messages.
func (activityContext) String() string { return "ctx" }

// GoString names the context in testify's messages.
func (activityContext) GoString() string { return "ctx" }

// attemptEnv is what activity.GetInfo and friends see in an attempt.
func (e *env) attemptEnv(t *activityTask) *actenv.Env {
	conv := e.conv
	env := &actenv.Env{
		InstanceID:   t.run.instanceID,
		ExecutionID:  t.run.executionID,
		ActivityName: t.ev.Name,
		ScheduleID:   t.ev.ID,
		Attempt:      t.attempt,
		ScheduledAt:  t.ev.Time,
		LastDetails:  decodeDetails(conv, t.details.last()),
		TaskToken:    taskToken(t),
	}
	env.Logger = env.TaggedLogger(e.log)
	env.Heartbeat = func(details ...any) {
		if err := t.details.record(conv, details); err != nil {
			env.Logger.Warn("heartbeat details do not encode; dropped", logkey.Err, err)
		}
	}
	return env
}

// launch runs an attempt of fn in its own goroutine, with the worker's
// timeouts; its end comes back through e.results.
func (e *env) launch(t *activityTask, fn any) {
	lim := attemptLimits{
		name:            t.ev.Name,
		timeout:         t.opts.StartToClose,
		cause:           actrun.ErrStartToClose,
		scheduleToClose: t.opts.ScheduleToClose,
		heartbeat:       t.opts.Heartbeat,
	}
	if lim.timeout <= 0 {
		lim.timeout = defaultActivityTimeout
	}
	if s2c := t.opts.ScheduleToClose; s2c > 0 {
		if left := t.ev.Time.Add(s2c).Sub(e.now); left < lim.timeout {
			lim.timeout, lim.cause = left, actrun.ErrScheduleToClose
		}
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	t.cancel = cancel
	if len(e.running) == 0 {
		e.rtWall, e.rtMock = time.Now(), e.now
	}
	e.running[t] = time.Now()
	aenv, attempt, args, conv := e.attemptEnv(t), t.attempt, t.ev.Args, e.conv
	results, stop := e.results, e.stop
	props, hdr := e.cfg.props, t.ev.Header
	go func() {
		actx, err := workflow.ExtractHeader(ctx, props, hdr)
		var result []byte
		if err != nil {
			err = workflow.NewPermanentError(fmt.Errorf("activity %s: context propagation: %w", aenv.ActivityName, err))
		} else {
			result, err = runAttempt(actx, fn, args, conv, aenv, lim)
		}
		cancel(nil)
		select {
		case results <- attemptResult{task: t, attempt: attempt, result: result, err: err, end: time.Now()}:
		case <-stop:
		}
	}()
}

// attemptEnded takes the end of an attempt that ran in wall time and puts
// it on the mock timeline where the wall clock says it happened.
func (e *env) attemptEnded(r attemptResult) {
	t := r.task
	delete(e.running, t)
	if t.attempt == r.attempt {
		t.cancel = nil
	}
	at := e.rtMock.Add(r.end.Sub(e.rtWall))
	if at.Before(e.now) {
		at = e.now
	}
	e.schedule(at, fmt.Sprintf("the end of attempt %d of activity %s", r.attempt, t.ev.Name), func() {
		e.attemptDone(t, r.result, r.err)
	})
}

// attemptDone settles an attempt as the worker does: the result, or the
// failure once the retry policy says so, goes to the workflow; otherwise
// the next attempt is due after the policy's backoff, in mock time.
func (e *env) attemptDone(t *activityTask, result []byte, err error) {
	if t.done {
		return
	}
	if err == nil {
		t.answer(history.Event{Kind: history.ActivityCompleted, Result: result})
		return
	}
	if e.leavePending(t, err) {
		return
	}
	if delay, ok := actrun.RetryDelay(t.opts, t.attempt, e.now.Sub(t.ev.Time), err); ok {
		e.log.Info("activity attempt failed; retrying", logkey.Activity, t.ev.Name, logkey.Attempt, t.attempt, logkey.Err, err, logkey.RetryIn, delay)
		t.retry = e.schedule(e.now.Add(delay), fmt.Sprintf("attempt %d of activity %s", t.attempt+1, t.ev.Name), func() {
			t.retry = nil
			e.startAttempt(t)
		})
		return
	}
	t.answer(history.Event{Kind: history.ActivityFailed, Failure: engine.FailureFromError(err)})
}

func (t *activityTask) answer(ev history.Event) {
	t.done = true
	ev.ScheduleID = t.ev.ID
	t.env.deliver(t.run, ev)
}

// cancelActivity acts on the workflow's ActivityCancelRequested as the
// worker does: a running attempt's context is canceled (an attempt that
// then fails ends the activity as canceled), and an activity waiting to be
// retried ends as canceled when its next attempt is due.
func (e *env) cancelActivity(r *run, id int64) {
	t := r.activities[id]
	if t == nil || t.done || t.canceled {
		return
	}
	t.canceled = true
	if t.cancel != nil {
		t.cancel(actrun.ErrCanceledByWorkflow)
	}
}

// abandon stops t for good without answering: its run is over.
func (t *activityTask) abandon() {
	t.done = true
	if t.retry != nil {
		t.retry.dead = true
		t.retry = nil
	}
	if t.cancel != nil {
		t.cancel(errRunEnded)
	}
}

// attemptLimits bound one attempt in wall time.
type attemptLimits struct {
	name            string
	timeout         time.Duration // 0: none
	cause           error         // actrun.ErrStartToClose or actrun.ErrScheduleToClose
	scheduleToClose time.Duration
	heartbeat       time.Duration // 0: none
}

// runAttempt runs one attempt of activity fn as the worker does: a context
// with the activity's environment and deadline, the heartbeat timeout, a
// Timeout error when time runs out, a *workflow.PanicError for a panic, and
// arguments and result through the converter.
func runAttempt(parent context.Context, fn any, args [][]byte, conv converter.Converter, env *actenv.Env, lim attemptLimits) ([]byte, error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if lim.timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(parent, lim.timeout, lim.cause)
	} else {
		ctx, cancel = context.WithCancel(parent)
	}
	defer cancel()
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)

	aenv := *env
	if lim.heartbeat > 0 {
		var mu sync.Mutex
		timer := time.AfterFunc(lim.heartbeat, func() { cancelCause(actrun.ErrHeartbeat) })
		defer timer.Stop()
		record := env.Heartbeat
		aenv.Heartbeat = func(details ...any) {
			mu.Lock()
			timer.Reset(lim.heartbeat)
			mu.Unlock()
			if record != nil {
				record(details...)
			}
		}
	}
	result, err := actrun.Invoke(actenv.With(ctx, &aenv), fn, args, conv)
	return result, actrun.Outcome(ctx, lim.name, actrun.Limits{StartToClose: lim.timeout, ScheduleToClose: lim.scheduleToClose, Heartbeat: lim.heartbeat}, err)
}
