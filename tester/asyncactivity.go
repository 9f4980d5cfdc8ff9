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
	e.armPendingHeartbeat(t)
	return true
}

// armPendingHeartbeat (re)arms the heartbeat deadline of a call left
// pending, when it has a heartbeat timeout: the call fails with a Timeout
// unless RecordActivityHeartbeat comes first.
func (e *env) armPendingHeartbeat(t *activityTask) {
	hb := t.opts.Heartbeat
	if hb <= 0 {
		return
	}
	if t.hbDue != nil {
		t.hbDue.dead = true
	}
	token := string(taskToken(t))
	t.hbDue = e.schedule(e.now.Add(hb), fmt.Sprintf("the heartbeat deadline of activity %s left pending", t.ev.Name), func() {
		if t.done {
			return
		}
		delete(e.pending, token)
		t.answer(history.Event{Kind: history.ActivityFailed, Failure: actrun.AsyncTimeout(t.ev.Name, actrun.ErrHeartbeat, hb)})
	})
}

// RecordActivityHeartbeat is client.RecordActivityHeartbeat in the tester:
// it moves the heartbeat deadline of the pending call of token, in mock
// time. A token of a call already answered (or timed out) is ignored.
// Call it from a ScheduleCallback.
func (wt *WorkflowTester[T]) RecordActivityHeartbeat(token []byte) {
	wt.e.request("RecordActivityHeartbeat", func() {
		if t := wt.e.pending[string(token)]; t != nil && !t.done {
			wt.e.armPendingHeartbeat(t)
		}
	})
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
