package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// SignalWorkflow sends the signal name with arg to the current run of an
// instance, where workflow.NewSignalChannel(ctx, name) receives it. Each
// call is a signal of its own (two calls deliver two signals).
//
// An unknown instance gives ErrInstanceNotFound, a finished one
// ErrInstanceFinished. An instance between two runs (it continued as new)
// gets the signal in its next run once that is registered.
func (c *Client) SignalWorkflow(ctx context.Context, instanceID, name string, arg any) error {
	if name == "" {
		return fmt.Errorf("client: signal instance %q: empty signal name", instanceID)
	}
	if _, err := streams.EncodeInstanceID(instanceID); err != nil {
		return fmt.Errorf("client: signal %q: %w", name, err)
	}
	payload, err := c.conv.Encode(arg)
	if err != nil {
		return fmt.Errorf("client: signal %q to instance %q: %w", name, instanceID, err)
	}
	rec, err := c.settledRecord(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("client: signal %q: %w", name, err)
	}
	if err := c.checkRunning("signal "+strconv.Quote(name), rec); err != nil {
		return err
	}
	e := &history.Event{
		Kind:        history.SignalReceived,
		Time:        c.now(),
		InboxID:     streams.ClientSignalInboxID(streams.NewID()),
		ExecutionID: rec.ExecutionID,
		Name:        name,
		Args:        [][]byte{payload},
	}
	if err := c.b.PublishEvent(ctx, rec.Queue, instanceID, e); err != nil {
		return fmt.Errorf("client: signal %q to instance %q: %w", name, instanceID, err)
	}
	return nil
}

// checkRunning returns nil if the instance's current run is running, and
// the error of the operation what otherwise.
func (c *Client) checkRunning(what string, rec *streams.InstanceRecord) error {
	switch rec.Status {
	case streams.StatusRunning:
		return nil
	case streams.StatusContinuedAsNew:
		return fmt.Errorf("client: %s instance %q: it continued as new and its next run has not started within %s; try again",
			what, rec.InstanceID, c.settleTimeout)
	}
	return fmt.Errorf("client: %s: %w: instance %q is %s", what, ErrInstanceFinished, rec.InstanceID, rec.Status)
}

// CancelWorkflowInstance asks a run to cancel: its context is canceled, and
// a workflow that then returns workflow.Canceled ends as canceled
// (GetWorkflowResult gives ErrWorkflowCanceled). The workflow may clean up
// first, or ignore the request. Asking twice is asking once.
//
// An empty inst.ExecutionID means the current run; a run that continued as
// new is followed to its successor. A run that has ended gives
// ErrInstanceFinished, an unknown instance ErrInstanceNotFound.
func (c *Client) CancelWorkflowInstance(ctx context.Context, inst *workflow.Instance) error {
	return c.requestRun(ctx, "cancel", inst, func(run string) *history.Event {
		return &history.Event{Kind: history.CancelRequested, InboxID: streams.CancelInboxID(run), ExecutionID: run}
	})
}

// TerminateWorkflowInstance ends a run at once, without running any more of
// its code; pending activities and timers are abandoned. GetWorkflowResult
// then gives ErrWorkflowTerminated with reason.
//
// An empty inst.ExecutionID means the current run; a run that continued as
// new is followed to its successor. A run that has ended gives
// ErrInstanceFinished, an unknown instance ErrInstanceNotFound.
func (c *Client) TerminateWorkflowInstance(ctx context.Context, inst *workflow.Instance, reason string) error {
	return c.requestRun(ctx, "terminate", inst, func(run string) *history.Event {
		return &history.Event{Kind: history.TerminateRequested, InboxID: streams.TerminateInboxID(run), ExecutionID: run, Reason: reason}
	})
}

// requestRun puts the event made by build into the inbox of the run inst
// names, if that run is running.
func (c *Client) requestRun(ctx context.Context, what string, inst *workflow.Instance, build func(run string) *history.Event) error {
	if err := checkInstance(inst); err != nil {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	rec, err := c.settledRecord(ctx, inst.InstanceID)
	if err != nil {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	run := inst.ExecutionID
	if run == "" {
		run = rec.ExecutionID
	}
	ref, err := c.followRun(ctx, rec, run)
	if err != nil {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	if !ref.Current {
		return fmt.Errorf("client: %s: %w: run %q of instance %q ended (%s); the current run is %q",
			what, ErrInstanceFinished, run, inst.InstanceID, ref.Final.Kind, rec.ExecutionID)
	}
	if err := c.checkRunning(what, rec); err != nil {
		return err
	}
	e := build(ref.Run)
	e.Time = c.now()
	if err := c.b.PublishEvent(ctx, rec.Queue, inst.InstanceID, e); err != nil {
		return fmt.Errorf("client: %s instance %q: %w", what, inst.InstanceID, err)
	}
	c.log.Info("requested "+what, logkey.Instance, inst.InstanceID, logkey.Execution, ref.Run)
	return nil
}

// RemoveWorkflowInstance deletes a finished instance: the histories of all
// its runs and its registry entry. Its ID can then be used afresh. An
// instance still running gives ErrInstanceNotFinished (cancel or terminate
// it first), an unknown one ErrInstanceNotFound. inst.ExecutionID, if set,
// must be one of the instance's runs; the whole instance is removed either
// way.
func (c *Client) RemoveWorkflowInstance(ctx context.Context, inst *workflow.Instance) error {
	if err := checkInstance(inst); err != nil {
		return fmt.Errorf("client: remove: %w", err)
	}
	id := inst.InstanceID
	rec, err := c.getRecord(ctx, id)
	if err != nil {
		return fmt.Errorf("client: remove: %w", err)
	}
	if inst.ExecutionID != "" {
		if ok, err := c.hasRun(ctx, rec, inst.ExecutionID); err != nil {
			return fmt.Errorf("client: remove: %w", err)
		} else if !ok {
			return fmt.Errorf("client: remove: %w: instance %q has no run %q", ErrExecutionNotFound, id, inst.ExecutionID)
		}
	}
	if !rec.Status.Finished() || rec.Status == streams.StatusContinuedAsNew {
		return fmt.Errorf("client: remove: %w: instance %q is %s (cancel or terminate it first)", ErrInstanceNotFinished, id, rec.Status)
	}
	// A start may reuse the ID at any moment. Its run's commits come after
	// its registry update, so: take the history's end, check the entry
	// is still the one read, then remove only the commits before that end
	// (a new run's are after it), and the entry only at the revision read.
	// A removal cut short leaves a finished entry that can be removed
	// again, never history nobody can see.
	end, err := c.b.HistoryEnd(ctx)
	if err != nil {
		return fmt.Errorf("client: remove instance %q: %w", id, err)
	}
	changed := func(now *streams.InstanceRecord) error {
		return fmt.Errorf("client: remove instance %q: it changed while being removed (now run %q, %s); its entry is kept",
			id, now.ExecutionID, now.Status)
	}
	now, err := c.b.GetInstance(ctx, id)
	switch {
	case errors.Is(err, streams.ErrInstanceNotFound):
		return nil // removed by someone else meanwhile
	case err != nil:
		return fmt.Errorf("client: remove instance %q: %w", id, err)
	case now.Revision != rec.Revision:
		return changed(now)
	}
	if c.beforeRemove != nil {
		c.beforeRemove(id)
	}
	if err := c.b.DeleteHistoryBefore(ctx, id, end); err != nil {
		return fmt.Errorf("client: remove instance %q: %w", id, err)
	}
	if err := c.b.DeleteInstanceAt(ctx, id, rec.Revision); err != nil {
		if errors.Is(err, streams.ErrRevisionConflict) {
			if now, gerr := c.b.GetInstance(ctx, id); gerr == nil {
				return changed(now)
			}
		}
		return fmt.Errorf("client: remove instance %q: %w", id, err)
	}
	c.log.Info("removed workflow instance", logkey.Instance, id, "runs", rec.RunCount())
	return nil
}
