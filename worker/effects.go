package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/runopts"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// publishEffects publishes what a committed commit asks for outside the
// history. Every effect is idempotent — deduplicated by a message ID derived
// from the event, or guarded by the registry's state — because after a
// crash the same commit's effects are published again.
//
// open is what the run still has going, for its end to stop.
func (w *Worker) publishEffects(ctx context.Context, queue, inst, run string, started history.Event, events []history.Event, open openWork) error {
	for i := range events {
		e := &events[i]
		var err error
		switch e.Kind {
		case history.WorkflowStarted:
			err = w.scheduleDeadline(ctx, queue, inst, run, e)
		case history.ActivityScheduled:
			err = w.scheduleActivity(ctx, activityTask(queue, inst, run, e))
		case history.TimerScheduled:
			err = w.b.ScheduleTimer(ctx, queue, inst, run, e.ID, e.FireAt)
		case history.TimerCanceled:
			err = w.b.CancelTimer(ctx, inst, run, e.ScheduleID)
		case history.SubWorkflowScheduled:
			err = w.startChild(ctx, queue, inst, run, e)
		case history.ActivityCancelRequested:
			err = w.b.PublishActivityCancel(streams.ActivityCancel{InstanceID: inst, ExecutionID: run, ScheduleID: e.ScheduleID})
		case history.SubWorkflowCancelRequested:
			err = w.endChild(ctx, inst, run, e.InstanceID, e.ScheduleID, history.CancelRequested, "")
		case history.SignalWorkflowScheduled:
			err = w.signalOther(ctx, queue, inst, run, e)
		case history.SearchAttributesUpserted:
			err = w.upsertSearchAttributes(ctx, inst, run, e)
		case history.UpdateCompleted:
			err = w.b.PublishUpdateNotice(streams.UpdateNotice{InstanceID: inst, ExecutionID: run, UpdateID: e.UpdateID,
				Completed: true, Result: e.Result, Failure: e.Failure})
		case history.WorkflowCompleted, history.WorkflowFailed, history.WorkflowCanceled,
			history.WorkflowTerminated, history.WorkflowContinuedAsNew:
			err = w.finishRun(ctx, inst, run, started, e, open)
		}
		if err != nil {
			return fmt.Errorf("%s event %d: %w", e.Kind, e.ID, err)
		}
	}
	return nil
}

func activityTask(queue, inst, run string, e *history.Event) *streams.ActivityTask {
	t := &streams.ActivityTask{
		InstanceID:    inst,
		ExecutionID:   run,
		ScheduleID:    e.ID,
		WorkflowQueue: queue,
		Queue:         e.Queue,
		Name:          e.Name,
		Args:          e.Args,
		ScheduledAt:   e.Time,
		Trace:         e.Trace,
		Header:        e.Header,
	}
	if t.Queue == "" {
		t.Queue = queue
	}
	if e.Activity != nil {
		t.Options = *e.Activity
	}
	return t
}

// scheduleActivity publishes an activity task, or fails the activity at
// once when its queue name cannot be a queue.
func (w *Worker) scheduleActivity(ctx context.Context, t *streams.ActivityTask) error {
	if _, err := streams.EncodeQueue(t.Queue); err != nil {
		return w.b.PublishEvent(ctx, t.WorkflowQueue, t.InstanceID, &history.Event{
			Kind:        history.ActivityFailed,
			ScheduleID:  t.ScheduleID,
			Time:        time.Now().UTC(),
			InboxID:     streams.ActivityResultInboxID(t.InstanceID, t.ExecutionID, t.ScheduleID),
			ExecutionID: t.ExecutionID,
			Failure:     &history.Failure{Type: workflow.ErrTypeInvalidQueue, Message: fmt.Sprintf("activity %s: %v", t.Name, err), NonRetryable: true},
		})
	}
	return w.b.PublishActivity(ctx, t)
}

// recoverEffects republishes the side effects of the commits that hold the
// events of msgs: their messages were redelivered, so the worker that
// committed them may have died before publishing everything. An error
// means the effects may still be missing: the caller must hand the
// messages back rather than acknowledge them.
func (w *Worker) recoverEffects(ctx context.Context, queue, inst, run string, started history.Event, msgs []*streams.InboxMessage) error {
	// Only a redelivered message means a worker may have died between
	// commit and publish. A new message whose event is already applied (a
	// stale timer, a result after a cancel, a publish retried after the
	// duplicate window) must not republish: that would re-run activities
	// and re-arm timers whose own dedup window has passed.
	ids := map[string]bool{}
	for _, m := range msgs {
		if m.Deliveries() > 1 {
			ids[m.Event.InboxID] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	h, err := w.b.ReadHistory(ctx, inst, run)
	if err != nil {
		return fmt.Errorf("reading the history to republish side effects: %w", err)
	}
	for _, c := range h.Commits {
		holds := slices.ContainsFunc(c.Events, func(e history.Event) bool { return e.Kind.Inbound() && ids[e.InboxID] })
		if !holds {
			continue
		}
		if err := w.publishEffects(ctx, queue, inst, run, started, c.Events, openWork{}); err != nil {
			return fmt.Errorf("republishing side effects: %w", err)
		}
	}
	return nil
}

// finishRun records the end of a run: the registry entry, the result notice,
// the parent's inbox for a child, the next run for continue-as-new.
func (w *Worker) finishRun(ctx context.Context, inst, run string, started history.Event, e *history.Event, open openWork) error {
	status := streams.StatusOf(e.Kind)
	now := time.Now().UTC()
	deadline, _ := started.Run.Deadline(started.StartTime())
	if retryAt, retry := runopts.Retry(&started, e); retry {
		commands, err := open.commands(ctx, w.b, inst, run)
		if err != nil {
			return err
		}
		if err := w.b.CancelRunTimers(ctx, inst, run); err != nil {
			return err
		}
		if err := w.stopOpenWork(ctx, inst, run, status, commands); err != nil {
			return err
		}
		return w.retryRun(ctx, inst, run, &started, retryAt)
	}
	nextRun := ""
	if e.Kind == history.WorkflowContinuedAsNew {
		nextRun = streams.ContinuedRunID(run)
	}
	slim := false            // the record without what is too large for it
	var finishedAt time.Time // of this run, as the registry has it
	change := func(r *streams.InstanceRecord) bool {
		if r.ExecutionID != run || r.Status != streams.StatusRunning {
			if r.ExecutionID == run && r.Status.Finished() {
				finishedAt = r.FinishedAt // recorded by an earlier try
			}
			return false // recorded already, or the instance moved on
		}
		if nextRun != "" {
			r.ContinueTo(nextRun, now)
		} else {
			r.Finish(e, now, slim)
			finishedAt = now
		}
		return true
	}
	err := w.updateRecord(ctx, inst, change)
	if errors.Is(err, streams.ErrPayloadTooLarge) {
		slim = true
		err = w.updateRecord(ctx, inst, change)
	}
	if err != nil {
		return err
	}
	if nextRun != "" {
		if err := w.b.PublishEvent(ctx, started.Queue, inst, &history.Event{
			Kind:                 history.WorkflowStarted,
			Time:                 now,
			InboxID:              streams.StartInboxID(nextRun),
			ExecutionID:          nextRun,
			Name:                 started.Name,
			Queue:                started.Queue,
			Args:                 e.Args,
			Parent:               started.Parent,
			ContinuedExecutionID: run,
			Trace:                started.Trace, // the next run stays in the instance's trace
			Run:                  runopts.Next(&started, false, now),
			Memo:                 started.Memo,
			Header:               started.Header,
		}); err != nil {
			return err
		}
	}
	commands, err := open.commands(ctx, w.b, inst, run)
	if err != nil {
		return err
	}
	if !deadline.IsZero() || slices.ContainsFunc(commands, func(c history.Event) bool { return c.Kind == history.TimerScheduled }) {
		if err := w.b.CancelRunTimers(ctx, inst, run); err != nil {
			return err
		}
	}
	if nextRun == "" {
		if err := w.stopOpenWork(ctx, inst, run, status, commands); err != nil {
			return err
		}
	}
	if nextRun != "" {
		return nil // the instance goes on: nothing to announce
	}
	// Armed from the finish time the registry shows, so a republish after
	// a crash arms the same removal. A record gone or moved on to a later
	// run needs none: it was removed, or the later run arms its own.
	if !finishedAt.IsZero() {
		if err := w.b.ScheduleRemoval(ctx, inst, run, finishedAt); err != nil {
			return err
		}
	}
	notice := streams.ResultNotice{InstanceID: inst, ExecutionID: run, Status: status}
	if f := e.RunFailure(); !slim && len(e.Result)+f.Size() <= streams.MaxNoticeOutcome {
		notice.Outcome, notice.WorkflowName, notice.Result, notice.Failure = true, started.Name, e.Result, f
	}
	if err := w.b.PublishResultNotice(notice); err != nil {
		return err
	}
	if p := started.Parent; p != nil {
		answer := &history.Event{
			Kind:        history.SubWorkflowCompleted,
			ScheduleID:  p.ScheduleID,
			Time:        now,
			InboxID:     streams.ChildResultInboxID(p.InstanceID, p.ExecutionID, p.ScheduleID),
			ExecutionID: p.ExecutionID,
			Result:      e.Result,
		}
		if e.Kind != history.WorkflowCompleted {
			answer.Kind = history.SubWorkflowFailed
			answer.Result = nil
			answer.Failure = e.RunFailure()
		}
		err := w.b.PublishEvent(ctx, p.Queue, p.InstanceID, answer)
		if errors.Is(err, streams.ErrPayloadTooLarge) {
			answer.Kind, answer.Result = history.SubWorkflowFailed, nil
			answer.Failure = answer.Failure.Cut()
			if answer.Failure == nil {
				answer.Failure = &history.Failure{Type: workflow.ErrTypePayloadTooLarge, NonRetryable: true,
					Message: fmt.Sprintf("sub-workflow %s: its result is too large to send to the parent: %v", started.Name, err)}
			}
			err = w.b.PublishEvent(ctx, p.Queue, p.InstanceID, answer)
		}
		return err
	}
	return nil
}

// upsertSearchAttributes applies a committed SearchAttributesUpserted to
// the instance's registry entry (and so its list index), while the entry
// is still the run's. Applying it again after a crash changes nothing.
func (w *Worker) upsertSearchAttributes(ctx context.Context, inst, run string, e *history.Event) error {
	return w.updateRecord(ctx, inst, func(r *streams.InstanceRecord) bool {
		if r.ExecutionID != run {
			return false // the instance moved on
		}
		merged := streams.MergeSearchAttributes(r.SearchAttributes, e.SearchAttributes)
		if maps.Equal(merged, r.SearchAttributes) {
			return false
		}
		r.SearchAttributes = merged
		return true
	})
}

// updateRecord applies change to an instance's registry entry, retrying
// on revision conflicts. change returns false to leave the entry as is.
func (w *Worker) updateRecord(ctx context.Context, inst string, change func(*streams.InstanceRecord) bool) error {
	for attempt := 0; ; attempt++ {
		r, err := w.b.GetInstance(ctx, inst)
		if err != nil {
			if errors.Is(err, streams.ErrInstanceNotFound) {
				return nil // removed meanwhile: nothing to record
			}
			return err
		}
		if !change(r) {
			return nil
		}
		_, err = w.b.UpdateInstance(ctx, r, r.Revision)
		if err == nil || !errors.Is(err, streams.ErrRevisionConflict) || attempt >= 10 {
			return err
		}
	}
}

// startChild registers and starts the sub-workflow of a SubWorkflowScheduled
// event, or answers the parent with a failure when the instance ID is taken
// by a running instance.
func (w *Worker) startChild(ctx context.Context, queue, inst, run string, e *history.Event) error {
	childRun := streams.ChildRunID(run, e.ID)
	childQueue := e.Queue
	if childQueue == "" {
		childQueue = queue
	}
	if _, err := streams.EncodeQueue(childQueue); err != nil {
		return w.failChildStart(ctx, queue, inst, run, e, &history.Failure{
			Type: workflow.ErrTypeInvalidQueue, Message: fmt.Sprintf("sub-workflow %s: %v", e.Name, err), NonRetryable: true,
		})
	}
	start := &history.Event{
		Kind:        history.WorkflowStarted,
		Time:        time.Now().UTC(),
		InboxID:     streams.StartInboxID(childRun),
		ExecutionID: childRun,
		Name:        e.Name,
		Queue:       childQueue,
		Args:        e.Args,
		Parent:      &history.Parent{InstanceID: inst, ExecutionID: run, Queue: queue, ScheduleID: e.ID},
		Trace:       e.Trace, // the child's tasks join the parent's trace
	}
	start.Run = runopts.First(e.Run, start.Time)
	start.Memo = e.Memo
	start.Header = e.Header
	_, _, err := w.b.RegisterRun(ctx, e.InstanceID, start)
	switch {
	case err == nil:
	case errors.Is(err, streams.ErrInstanceExists):
		return w.failChildStart(ctx, queue, inst, run, e, &history.Failure{
			Type:         workflow.ErrTypeInstanceAlreadyExists,
			Message:      fmt.Sprintf("sub-workflow instance %q already exists and is running", e.InstanceID),
			NonRetryable: true,
		})
	case errors.Is(err, streams.ErrInvalidName):
		return w.failChildStart(ctx, queue, inst, run, e, &history.Failure{Type: workflow.ErrTypeInvalidInstanceID, Message: err.Error(), NonRetryable: true})
	default:
		return err // a NATS error or a registry that kept changing: retried with the task
	}
	return w.b.PublishEvent(ctx, childQueue, e.InstanceID, start)
}

func (w *Worker) failChildStart(ctx context.Context, queue, inst, run string, e *history.Event, f *history.Failure) error {
	return w.b.PublishEvent(ctx, queue, inst, &history.Event{
		Kind:        history.SubWorkflowFailed,
		ScheduleID:  e.ID,
		Time:        time.Now().UTC(),
		InboxID:     streams.ChildResultInboxID(inst, run, e.ID),
		ExecutionID: run,
		Failure:     f,
	})
}

// endChild asks the sub-workflow a parent run's SubWorkflowScheduled event
// (scheduleID) started to end: a CancelRequested or TerminateRequested
// (with reason) in its inbox. A child that never started, has finished,
// or whose ID another run took since, is left alone.
func (w *Worker) endChild(ctx context.Context, inst, run, child string, scheduleID int64, kind history.Kind, reason string) error {
	rec, err := w.b.GetInstance(ctx, child)
	if errors.Is(err, streams.ErrInstanceNotFound) || errors.Is(err, streams.ErrInvalidName) {
		return nil // never started (its start failed): nothing to end
	}
	if err != nil {
		return err
	}
	// The child is ours while its record names this parent event: its
	// first run, or a later one if it continued as new.
	p := rec.Parent
	ours := rec.ExecutionID == streams.ChildRunID(run, scheduleID) ||
		(p != nil && p.InstanceID == inst && p.ExecutionID == run && p.ScheduleID == scheduleID)
	if !ours || rec.Status.Finished() {
		return nil
	}
	req := &history.Event{Kind: kind, Time: time.Now().UTC(), ExecutionID: rec.ExecutionID, Reason: reason}
	if kind == history.TerminateRequested {
		req.InboxID = streams.TerminateInboxID(rec.ExecutionID)
	} else {
		req.InboxID = streams.CancelInboxID(rec.ExecutionID)
	}
	return w.b.PublishEvent(ctx, rec.Queue, child, req)
}

// stopOpenWork stops what a run that ended (not by continuing as new)
// left going: its running activities are told to cancel (the cancel a
// workflow sends, so the worker running one cancels its context), and its
// running sub-workflows are terminated, canceled or left alone by their
// parent-close policy.
func (w *Worker) stopOpenWork(ctx context.Context, inst, run string, status streams.Status, commands []history.Event) error {
	for i := range commands {
		c := &commands[i]
		switch c.Kind {
		case history.ActivityScheduled:
			if err := w.b.PublishActivityCancel(streams.ActivityCancel{InstanceID: inst, ExecutionID: run, ScheduleID: c.ID}); err != nil {
				return err
			}
		case history.SubWorkflowScheduled:
			var err error
			switch c.ParentClose {
			case history.ParentCloseTerminate:
				err = w.endChild(ctx, inst, run, c.InstanceID, c.ID, history.TerminateRequested,
					fmt.Sprintf("its parent %q (run %q) ended %s (parent-close policy: terminate)", inst, run, status))
			case history.ParentCloseCancel:
				err = w.endChild(ctx, inst, run, c.InstanceID, c.ID, history.CancelRequested, "")
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// openWork is what a run still has going when it ends, for the end to
// stop: the executor's pending commands when the worker has the executor,
// else (recovery, a run failed without its code) the open commands of the
// run's history, read when the run's end needs them.
type openWork struct {
	ex *engine.Executor
}

func (o openWork) commands(ctx context.Context, b *streams.Backend, inst, run string) ([]history.Event, error) {
	if o.ex != nil {
		pending := o.ex.Pending()
		out := make([]history.Event, len(pending))
		for i, p := range pending {
			out[i] = p.Event
		}
		return out, nil
	}
	h, err := b.ReadHistory(ctx, inst, run)
	if err != nil {
		return nil, fmt.Errorf("reading the history for the run's open work: %w", err)
	}
	return history.OpenCommands(h.Events()), nil
}

// signalOther delivers a workflow's signal to another instance and tells
// the sender whether it arrived.
func (w *Worker) signalOther(ctx context.Context, queue, inst, run string, e *history.Event) error {
	ack := &history.Event{
		Kind:        history.SignalDelivered,
		ScheduleID:  e.ID,
		Time:        time.Now().UTC(),
		InboxID:     streams.SignalDeliveredInboxID(inst, run, e.ID),
		ExecutionID: run,
	}
	target, err := w.b.GetInstance(ctx, e.InstanceID)
	if err == nil && target.Status.Finished() {
		// A replica behind the registry's leader may still show the run
		// that a start just replaced: refuse only what the leader says.
		target, err = w.b.GetInstanceLatest(ctx, e.InstanceID)
	}
	switch {
	case errors.Is(err, streams.ErrInstanceNotFound) || errors.Is(err, streams.ErrInvalidName):
		ack.Failure = &history.Failure{Type: workflow.ErrTypeInstanceNotFound, Message: fmt.Sprintf("instance %q not found", e.InstanceID), NonRetryable: true}
	case err != nil:
		return err
	case target.Status.Finished():
		ack.Failure = &history.Failure{Type: workflow.ErrTypeInstanceNotFound, Message: fmt.Sprintf("instance %q has finished (%s)", e.InstanceID, target.Status), NonRetryable: true}
	default:
		if err := w.b.PublishEvent(ctx, target.Queue, e.InstanceID, &history.Event{
			Kind:        history.SignalReceived,
			Time:        ack.Time,
			InboxID:     streams.WorkflowSignalInboxID(inst, run, e.ID),
			ExecutionID: target.ExecutionID,
			Name:        e.Name,
			Args:        e.Args,
			Trace:       e.Trace,
		}); err != nil {
			return err
		}
	}
	return w.b.PublishEvent(ctx, queue, inst, ack)
}

// serveRetention removes the instances whose retention has run out (see
// streams.WithRetention) until ctx ends.
func (w *Worker) serveRetention(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.b.ServeRetention(ctx, w.opts.TaskRetryDelay, nil); err != nil && ctx.Err() == nil {
			w.log.Warn("serving retention removals failed; retrying", logkey.Err, err)
			sleep(ctx, w.opts.TaskRetryDelay)
		}
	}
}
