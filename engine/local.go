package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// LocalActivityTask is one local activity call an executor hands to its
// runner (Options.LocalActivities): the attempts to run inside the
// workflow task, from Attempt on.
type LocalActivityTask struct {
	wfenv.LocalActivityRequest
	// Seq numbers the call in its run (history.LocalActivity.Seq).
	Seq int64
	// The run that made the call.
	InstanceID, ExecutionID, WorkflowName string
}

// LocalActivityOutcome is how the attempts a runner ran for a call ended:
// Result, or Err; Attempt is the last attempt run. RetryAfter above zero
// says Err is not final: the next attempt is to run after that wait, too
// long to wait inside a task, so the workflow waits with a timer.
type LocalActivityOutcome struct {
	Result     []byte
	Err        error
	Attempt    int
	RetryAfter time.Duration
}

// LocalActivityRunner runs a local activity call's attempts; ctx ends when
// the workflow no longer wants the outcome (canceled, or the run ended).
// It is called on a goroutine of its own, so calls run side by side.
type LocalActivityRunner func(ctx context.Context, task LocalActivityTask) LocalActivityOutcome

// ErrNoLocalActivities is the outcome of a local activity in an executor
// built without a runner.
var ErrNoLocalActivities = errors.New("engine: this executor has no local activity runner")

// localCall is a local activity call queued or running in the current
// task.
type localCall struct {
	seq     int64
	req     wfenv.LocalActivityRequest
	done    wfenv.LocalActivityCallback
	cancel  context.CancelFunc // set once running
	outcome LocalActivityOutcome
}

// localState is an executor's local activity calls.
type localState struct {
	seq   int64
	calls map[int64]*localCall // queued or running, by seq
	queue []int64              // queued, not started, in call order

	// finished are the running calls that ended, in the order they did;
	// written by the runners' goroutines.
	mu       sync.Mutex
	finished []*localCall
	notify   chan struct{}
}

func (r *runEnv) ExecuteLocalActivity(req wfenv.LocalActivityRequest, done wfenv.LocalActivityCallback) int64 {
	if r.inQuery {
		panic("workflow: a query handler must not run local activities")
	}
	l := &r.local
	if l.calls == nil {
		l.calls = map[int64]*localCall{}
		l.notify = make(chan struct{}, 1)
	}
	l.seq++
	l.calls[l.seq] = &localCall{seq: l.seq, req: req, done: done}
	l.queue = append(l.queue, l.seq)
	return l.seq
}

func (r *runEnv) CancelLocalActivity(seq int64) {
	if r.inQuery {
		panic("workflow: a query handler must not change the workflow's state (schedule work, cancel, start coroutines)")
	}
	c := r.exec().takeLocal(seq)
	if c == nil {
		return
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.done(nil, workflow.Canceled, 0, 0)
}

// takeLocal removes a queued or running call; nil when there is none.
func (e *Executor) takeLocal(seq int64) *localCall {
	l := &e.local
	c := l.calls[seq]
	if c == nil {
		return nil
	}
	delete(l.calls, seq)
	if i := slices.Index(l.queue, seq); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
	return c
}

// runLocal starts the queued local activity calls, waits for one to end,
// records its outcome and hands it to the workflow code. It reports false
// when there was nothing to wait for.
func (e *Executor) runLocal() bool {
	l := &e.local
	for _, seq := range l.queue {
		e.startLocal(l.calls[seq])
	}
	l.queue = l.queue[:0]
	if len(l.calls) == 0 {
		return false
	}
	var c *localCall
	for c == nil {
		l.mu.Lock()
		for len(l.finished) > 0 && c == nil {
			f := l.finished[0]
			l.finished = l.finished[1:]
			if l.calls[f.seq] == f {
				c = f
			}
		}
		l.mu.Unlock()
		if c == nil {
			<-l.notify
		}
	}
	delete(l.calls, c.seq)
	c.cancel()
	o := c.outcome
	kind := history.LocalActivityCompleted
	failure := FailureFromError(o.Err)
	if failure != nil {
		kind = history.LocalActivityFailed
	}
	ev := history.Event{Kind: kind, Name: c.req.Name, Result: o.Result, Failure: failure,
		Local: &history.LocalActivity{Seq: c.seq, Attempt: o.Attempt, RetryAfter: o.RetryAfter}}
	if failure == nil {
		ev.Local.RetryAfter = 0
	}
	if _, ok := e.record(ev); !ok {
		return true
	}
	e.settleLocal(c, &ev)
	return true
}

// startLocal runs a call on a goroutine of its own.
func (e *Executor) startLocal(c *localCall) {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	task := LocalActivityTask{LocalActivityRequest: c.req, Seq: c.seq,
		InstanceID: e.opts.InstanceID, ExecutionID: e.opts.ExecutionID, WorkflowName: e.workflowName}
	runner := e.opts.LocalActivities
	l := &e.local
	go func() {
		var o LocalActivityOutcome
		if runner == nil {
			o = LocalActivityOutcome{Err: workflow.NewPermanentError(ErrNoLocalActivities), Attempt: task.Attempt}
		} else {
			o = runner(ctx, task)
		}
		l.mu.Lock()
		c.outcome = o
		l.finished = append(l.finished, c)
		l.mu.Unlock()
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}()
}

// settleLocal hands a recorded outcome to the call's workflow code, the
// same way whether it was just recorded or is being replayed.
func (e *Executor) settleLocal(c *localCall, ev *history.Event) {
	var err error
	if ev.Kind == history.LocalActivityFailed {
		if err = ErrorFromFailure(ev.Failure); err == nil {
			err = &workflow.Error{Message: ev.Kind.String() + " without a failure"}
		}
	}
	var attempt int
	var retryAfter time.Duration
	if ev.Local != nil {
		attempt, retryAfter = ev.Local.Attempt, ev.Local.RetryAfter
	}
	if err == nil {
		retryAfter = 0
	}
	c.done(ev.Result, err, attempt, retryAfter)
}

// replayLocal applies a recorded local activity outcome to the call it
// records, which the code must have made and not yet seen answered.
func (e *Executor) replayLocal(ev history.Event) error {
	if ev.Local == nil {
		return e.fail(fmt.Errorf("%w: %v event %d has no local activity fields", ErrBadHistory, ev.Kind, ev.ID))
	}
	c := e.local.calls[ev.Local.Seq]
	if c == nil || c.req.Name != ev.Name {
		detail := fmt.Sprintf("the history records the outcome of local activity call %d (%s), which the code did not make here",
			ev.Local.Seq, ev.Name)
		if c != nil {
			detail = fmt.Sprintf("the history records local activity call %d as %s, the code made it as %s",
				ev.Local.Seq, ev.Name, c.req.Name)
		}
		return e.fail(e.nondeterminism(&ev, nil, detail))
	}
	if ev.ID != e.lastID+1 {
		return e.fail(fmt.Errorf("%w: expected event %d, got event %d (%v)", ErrBadHistory, e.lastID+1, ev.ID, ev.Kind))
	}
	e.takeLocal(c.seq)
	e.lastID = ev.ID
	e.settleLocal(c, &ev)
	if e.err != nil {
		return e.err
	}
	return e.run()
}

// stopLocals cancels every running local activity call: the run ended or
// the executor is dropped. Their outcomes are never recorded.
func (e *Executor) stopLocals() {
	for seq, c := range e.local.calls {
		if c.cancel != nil {
			c.cancel()
		}
		delete(e.local.calls, seq)
	}
	e.local.queue = e.local.queue[:0]
}

// isLocal reports whether ev records a local activity.
func isLocal(k history.Kind) bool {
	return k == history.LocalActivityCompleted || k == history.LocalActivityFailed
}
