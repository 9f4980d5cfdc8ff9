package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
)

// Message-schedule headers (nats-server 2.12+).
const (
	hdrSchedule       = "Nats-Schedule"
	hdrScheduleTarget = "Nats-Schedule-Target"
)

// ScheduleTimer arranges for a TimerFired event (ScheduleID = timerID) to
// arrive in the instance's inbox on queue at time at. The server itself
// delivers it, also after a restart, also if at has already passed; nothing
// polls. Scheduling the same timer again replaces the schedule.
func (b *Backend) ScheduleTimer(ctx context.Context, queue, instanceID, executionID string, timerID int64, at time.Time) error {
	q, err := EncodeQueue(queue)
	if err != nil {
		return err
	}
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return err
	}
	if timerID <= 0 {
		return fmt.Errorf("streams: timer ID %d", timerID)
	}
	at = at.UTC()
	data, err := history.EncodeEvent(&history.Event{
		Kind:        history.TimerFired,
		ScheduleID:  timerID,
		Time:        at,
		FireAt:      at,
		ExecutionID: executionID,
		InboxID:     TimerInboxID(instanceID, executionID, timerID),
	})
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: b.n.timer(inst, executionID, timerID), Data: data, Header: nats.Header{}}
	// Set by hand, with nanoseconds: a helper that formats to the second
	// would fire up to a second early.
	msg.Header.Set(hdrSchedule, "@at "+at.Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, b.n.inbox(q, inst))
	// A schedule republished by recovery within the duplicate window is
	// dropped rather than firing the timer twice.
	msg.Header.Set(jetstream.MsgIDHeader, "s:"+TimerInboxID(instanceID, executionID, timerID))
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: schedule timer %d of %q: %w", timerID, instanceID, err)
	}
	return nil
}

// CancelTimer removes a timer's schedule so it does not fire. A timer that
// fired already, or never existed, is no error; a TimerFired racing the
// cancel may still arrive, and the executor ignores it.
func (b *Backend) CancelTimer(ctx context.Context, instanceID, executionID string, timerID int64) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.tasks.Purge(pctx, jetstream.WithPurgeSubject(b.n.timer(inst, executionID, timerID))); err != nil {
		return fmt.Errorf("streams: cancel timer %d of %q: %w", timerID, instanceID, err)
	}
	return nil
}

// CancelRunTimers removes every pending timer of a run (when it ends).
func (b *Backend) CancelRunTimers(ctx context.Context, instanceID, executionID string) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if err := CheckExecutionID(executionID); err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.tasks.Purge(pctx, jetstream.WithPurgeSubject(b.n.timersOfRun(inst, executionID))); err != nil {
		return fmt.Errorf("streams: cancel timers of %q: %w", instanceID, err)
	}
	return nil
}
