package worker

import (
	"context"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/runopts"
	"github.com/jetflow/jetflow/streams"
)

// Workflow timeouts and retries (history.RunOptions, package runopts): a
// run's deadline is a message schedule published with the effects of its
// first commit; a failed run with a retry policy is followed by a new run
// of the instance whose start is a schedule at the end of the backoff.

// scheduleDeadline arms the deadline of a run that has one.
func (w *Worker) scheduleDeadline(ctx context.Context, queue, inst, run string, started *history.Event) error {
	at, f := runopts.Deadline(started)
	if at.IsZero() {
		return nil
	}
	return w.b.ScheduleRunDeadline(ctx, queue, inst, run, at, f)
}

// retryRun moves the instance on to the retry of run and publishes its
// start for at.
func (w *Worker) retryRun(ctx context.Context, inst, run string, started *history.Event, at time.Time) error {
	next := streams.RetriedRunID(run)
	now := time.Now().UTC()
	if err := w.updateRecord(ctx, inst, func(r *streams.InstanceRecord) bool {
		if r.ExecutionID != run || r.Status != streams.StatusRunning {
			return false
		}
		r.ContinueTo(next, now)
		return true
	}); err != nil {
		return err
	}
	return w.b.PublishStartAt(ctx, started.Queue, inst, &history.Event{
		Kind:                 history.WorkflowStarted,
		Time:                 at,
		InboxID:              streams.StartInboxID(next),
		ExecutionID:          next,
		Name:                 started.Name,
		Queue:                started.Queue,
		Args:                 started.Args,
		Parent:               started.Parent,
		ContinuedExecutionID: run,
		Run:                  runopts.Next(started, true, at),
		Memo:                 started.Memo,
		Header:               started.Header,
	}, at)
}
