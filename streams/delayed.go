package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
)

// Delayed starts and run deadlines: message schedules on the task stream,
// like timers, so the server delivers them at their time and nothing
// polls (DESIGN.md, "Retention and delayed work").

// PublishStartAt puts a WorkflowStarted event in the instance's inbox at
// time at: a delayed start (WorkflowInstanceOptions.StartDelay) or a
// retry's backoff. A time not after now publishes at once. Publishing the
// same start again replaces its schedule.
func (b *Backend) PublishStartAt(ctx context.Context, queue, instanceID string, e *history.Event, at time.Time) error {
	if e == nil || e.Kind != history.WorkflowStarted {
		return fmt.Errorf("streams: PublishStartAt needs a WorkflowStarted event")
	}
	if !at.After(time.Now()) {
		return b.PublishEvent(ctx, queue, instanceID, e)
	}
	if err := b.FitEvent(ctx, instanceID, e); err != nil {
		return err
	}
	return b.publishAt(ctx, queue, instanceID, e, at, b.n.runStart)
}

// ScheduleRunDeadline arranges for a WorkflowTimeoutFired event with
// failure f to reach run's inbox at time at, when its run or execution
// timeout ends it. The run's end purges it with its timers
// (CancelRunTimers).
func (b *Backend) ScheduleRunDeadline(ctx context.Context, queue, instanceID, run string, at time.Time, f *history.Failure) error {
	e := &history.Event{
		Kind:        history.WorkflowTimeoutFired,
		Time:        at.UTC(),
		InboxID:     DeadlineInboxID(run),
		ExecutionID: run,
		Failure:     f,
	}
	return b.publishAt(ctx, queue, instanceID, e, at, b.n.runDeadline)
}

// publishAt publishes e as a schedule on the subject subject(inst, run)
// whose target is the instance's inbox.
func (b *Backend) publishAt(ctx context.Context, queue, instanceID string, e *history.Event, at time.Time, subject func(inst, run string) string) error {
	return b.publishAtWithID(ctx, queue, instanceID, e, at, subject, "s:"+e.InboxID)
}

// publishAtWithID is publishAt with the schedule message's own ID: a
// schedule moved again and again (a heartbeat deadline) needs a new one
// each time, or the stream's duplicate window would drop the move.
func (b *Backend) publishAtWithID(ctx context.Context, queue, instanceID string, e *history.Event, at time.Time, subject func(inst, run string) string, msgID string) error {
	if err := CheckExecutionID(e.ExecutionID); err != nil {
		return err
	}
	msg, err := b.inboxMsg(queue, instanceID, e)
	if err != nil {
		return err
	}
	inst, _ := EncodeInstanceID(instanceID) // checked by inboxMsg
	target := msg.Subject
	msg.Subject = subject(inst, e.ExecutionID)
	msg.Header.Set(hdrSchedule, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, target)
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: schedule %s of %q at %v: %w", e.Kind, instanceID, at, err)
	}
	return nil
}
