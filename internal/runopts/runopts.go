// Package runopts is how a workflow's timeouts and retry policy
// (history.RunOptions) act on its runs: the options of a first run and of
// the runs after it, the failure a deadline ends a run with, and whether a
// failed run is retried. The worker and the tester share it, so a run
// times out and retries the same in a unit test as in production.
package runopts

import (
	"fmt"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/workflow"
)

// First returns the run options of an instance's first run started at
// now, from the options its starter gave: the execution deadline is fixed
// here, for all its runs.
func First(given *history.RunOptions, now time.Time) *history.RunOptions {
	if given == nil {
		return nil
	}
	ro := *given
	now = now.Add(ro.StartDelay) // the run starts then
	if ro.ExecutionTimeout > 0 {
		ro.ExecutionDeadline = now.Add(ro.ExecutionTimeout)
	}
	ro.Attempt, ro.FirstAttemptAt = 1, now
	return &ro
}

// Next returns the run options of the run after started's, starting at
// now: the same timeouts, deadline and policy; the attempt counts on for
// a retry and starts again after a continue-as-new, as in Temporal.
func Next(started *history.Event, retry bool, now time.Time) *history.RunOptions {
	if started.Run == nil {
		return nil
	}
	ro := *started.Run
	ro.StartDelay = 0 // only a first run is delayed
	if retry {
		ro.Attempt = max(ro.Attempt, 1) + 1
		if ro.FirstAttemptAt.IsZero() {
			ro.FirstAttemptAt = started.StartTime()
		}
	} else {
		ro.Attempt, ro.FirstAttemptAt = 1, now
	}
	return &ro
}

// Deadline returns when the run started by started must end and the
// failure it then ends with (a Timeout; final when the execution timeout
// ends it); a zero time for none.
func Deadline(started *history.Event) (time.Time, *history.Failure) {
	at, execution := started.Run.Deadline(started.StartTime())
	if at.IsZero() {
		return at, nil
	}
	f := &history.Failure{Type: workflow.ErrTypeTimeout}
	if execution {
		f.Message = fmt.Sprintf("workflow %s: execution timeout of %v exceeded", started.Name, started.Run.ExecutionTimeout)
		f.NonRetryable = true
	} else {
		f.Message = fmt.Sprintf("workflow %s: run timeout of %v exceeded", started.Name, started.Run.RunTimeout)
	}
	return at, f
}

// Retry says whether a run started by started that ended with final is
// retried, and when the next attempt starts. It depends only on stored
// events, so a recovery that asks again gets the same answer.
func Retry(started, final *history.Event) (at time.Time, ok bool) {
	ro := started.Run
	if final.Kind != history.WorkflowFailed || ro == nil || ro.Retry == nil {
		return time.Time{}, false
	}
	first := ro.FirstAttemptAt
	if first.IsZero() {
		first = started.StartTime()
	}
	delay, ok := actrun.RetryDelay(*ro.Retry, max(ro.Attempt, 1), final.Time.Sub(first), engine.ErrorFromFailure(final.Failure))
	if !ok {
		return time.Time{}, false
	}
	at = final.Time.Add(delay)
	if !ro.ExecutionDeadline.IsZero() && !at.Before(ro.ExecutionDeadline) {
		return time.Time{}, false
	}
	return at, true
}
