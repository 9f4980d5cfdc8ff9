package tester

import (
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/workflow"
)

// Asynchronous activity completion in the tester: an activity that
// returns activity.ErrResultPending waits, as on a worker, for
// CompleteActivity or FailActivity with its task token, or for its
// timeout in mock time.

// taskToken is the token of t's call in the tester.
func taskToken(t *activityTask) []byte {
	return fmt.Appendf(nil, "tester:%s:%s:%d", t.run.instanceID, t.run.executionID, t.ev.ID)
}

// leavePending keeps t waiting for its outcome from the test, with a
// Timeout when its timeouts pass first. It reports whether err asked
// for that.
func (e *env) leavePending(t *activityTask, err error) bool {
	if !errors.Is(err, actenv.ErrResultPending) {
		return false
	}
	timeout, cause := t.opts.StartToClose, actrun.ErrStartToClose
	if timeout <= 0 {
		timeout = defaultActivityTimeout
	}
	at := e.now.Add(timeout)
	if s2c := t.opts.ScheduleToClose; s2c > 0 && t.ev.Time.Add(s2c).Before(at) {
		at, timeout, cause = t.ev.Time.Add(s2c), s2c, actrun.ErrScheduleToClose
	}
	token := string(taskToken(t))
	e.pending[token] = t
	e.schedule(at, fmt.Sprintf("the deadline of activity %s left pending", t.ev.Name), func() {
		delete(e.pending, token)
		if !t.done {
			t.answer(history.Event{Kind: history.ActivityFailed, Failure: &history.Failure{
				Type: workflow.ErrTypeTimeout, Message: actrun.TimeoutError(t.ev.Name, cause, timeout).Error(), NonRetryable: true,
			}})
		}
	})
	return true
}

// CompleteActivity completes the activity call of token (its
// activity.Info.TaskToken) that returned activity.ErrResultPending, as
// client.CompleteActivity does. Call it from a ScheduleCallback; a token
// of a call already answered (or timed out) is ignored.
func (wt *WorkflowTester[T]) CompleteActivity(token []byte, result any) {
	wt.e.request("CompleteActivity", func() {
		t := wt.e.pending[string(token)]
		if t == nil || t.done {
			return
		}
		b, err := wt.e.conv.Encode(result)
		if err != nil {
			wt.e.fail(fmt.Errorf("%w: CompleteActivity: encode result: %w", ErrBadSetup, err))
			return
		}
		delete(wt.e.pending, string(token))
		t.answer(history.Event{Kind: history.ActivityCompleted, Result: b})
	})
}

// FailActivity fails the activity call of token with err, as
// client.FailActivity does (not retried).
func (wt *WorkflowTester[T]) FailActivity(token []byte, err error) {
	wt.e.request("FailActivity", func() {
		t := wt.e.pending[string(token)]
		if t == nil || t.done {
			return
		}
		f := engine.FailureFromError(err)
		f.NonRetryable = true
		delete(wt.e.pending, string(token))
		t.answer(history.Event{Kind: history.ActivityFailed, Failure: f})
	})
}
