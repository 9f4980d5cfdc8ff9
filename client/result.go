package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// GetWorkflowResult waits for a run of an instance to end and returns its
// result decoded into T.
//
// An empty inst.ExecutionID means the instance's latest run: the wait
// follows the instance across continue-as-new to the run that ends it. A
// specific ExecutionID waits for that run; if it continued as new, its
// successors are followed the same way, and if it is an earlier run that
// ended otherwise (its ID was reused since), its outcome is read from its
// history. An ExecutionID the instance never had gives ErrExecutionNotFound.
//
// timeout 0 waits until ctx ends; otherwise the wait ends after timeout with
// an error matching context.DeadlineExceeded.
//
// The outcome decides the error: a failed workflow gives its own error
// rebuilt (same message; a *workflow.Error of the same Type for
// workflow.NewError errors, a *workflow.PanicError for a panic); a canceled
// one ErrWorkflowCanceled; a terminated one ErrWorkflowTerminated with the
// reason; an unknown instance ErrInstanceNotFound. A result that does not
// decode into T gives an error naming both types.
func GetWorkflowResult[T any](ctx context.Context, c *Client, inst *workflow.Instance, timeout time.Duration) (T, error) {
	var zero T
	out, err := c.waitForOutcome(ctx, inst, timeout)
	if err != nil {
		return zero, err
	}
	if err := out.err(); err != nil {
		return zero, err
	}
	var res T
	if len(out.Result) == 0 {
		return res, nil // a workflow that returns only an error
	}
	if err := c.conv.Decode(out.Result, &res); err != nil {
		return zero, fmt.Errorf("client: the result of workflow %s (instance %q, run %q) does not decode into %v: %w",
			out.WorkflowName, out.InstanceID, out.ExecutionID, reflect.TypeFor[T](), err)
	}
	return res, nil
}

// outcome is how a run ended.
type outcome struct {
	InstanceID   string
	ExecutionID  string
	WorkflowName string
	Status       streams.Status
	Result       []byte
	Failure      *history.Failure
	// Reason is the reason of a termination.
	Reason string
}

// err is the error GetWorkflowResult returns for the outcome, nil for a
// completed run.
func (o *outcome) err() error {
	switch o.Status {
	case streams.StatusCompleted:
		return nil
	case streams.StatusFailed:
		if err := engine.ErrorFromFailure(o.Failure); err != nil {
			return err
		}
		return &workflow.Error{Message: fmt.Sprintf("workflow %s (instance %q, run %q) failed without an error", o.WorkflowName, o.InstanceID, o.ExecutionID)}
	case streams.StatusCanceled:
		return fmt.Errorf("client: workflow %s (instance %q, run %q): %w", o.WorkflowName, o.InstanceID, o.ExecutionID, ErrWorkflowCanceled)
	case streams.StatusTerminated:
		if o.Reason != "" {
			return fmt.Errorf("client: workflow %s (instance %q, run %q): %w: %s", o.WorkflowName, o.InstanceID, o.ExecutionID, ErrWorkflowTerminated, o.Reason)
		}
		return fmt.Errorf("client: workflow %s (instance %q, run %q): %w", o.WorkflowName, o.InstanceID, o.ExecutionID, ErrWorkflowTerminated)
	}
	return fmt.Errorf("client: workflow %s (instance %q, run %q) ended with unknown status %q", o.WorkflowName, o.InstanceID, o.ExecutionID, o.Status)
}

// outcomeFromRecord reads the outcome of the current run from the registry.
func outcomeFromRecord(rec *streams.InstanceRecord) *outcome {
	o := &outcome{
		InstanceID:   rec.InstanceID,
		ExecutionID:  rec.ExecutionID,
		WorkflowName: rec.WorkflowName,
		Status:       rec.Status,
		Result:       rec.Result,
		Failure:      rec.Failure,
	}
	if rec.Status == streams.StatusTerminated && rec.Failure != nil {
		o.Reason = rec.Failure.Message
	}
	return o
}

// outcomeFromNotice reads a run's outcome from a result notice that
// carries it.
func outcomeFromNotice(n *streams.ResultNotice) *outcome {
	return outcomeFromRecord(&streams.InstanceRecord{
		InstanceID:   n.InstanceID,
		ExecutionID:  n.ExecutionID,
		WorkflowName: n.WorkflowName,
		Status:       n.Status,
		Result:       n.Result,
		Failure:      n.Failure,
	})
}

// outcomeFromEvent reads a run's outcome from its final event.
func outcomeFromEvent(instanceID, run, workflowName string, e *history.Event) *outcome {
	o := &outcome{InstanceID: instanceID, ExecutionID: run, WorkflowName: workflowName, Status: streams.StatusOf(e.Kind)}
	switch e.Kind {
	case history.WorkflowCompleted:
		o.Result = e.Result
	case history.WorkflowFailed:
		o.Failure = e.Failure
	case history.WorkflowTerminated:
		o.Reason = e.Reason
	}
	return o
}

// waitForOutcome subscribes to the instance's result notices, then reads
// the registry, and reads it again on every notice (and every poll
// interval) until the run asked for has an outcome.
func (c *Client) waitForOutcome(ctx context.Context, inst *workflow.Instance, timeout time.Duration) (*outcome, error) {
	if err := checkInstance(inst); err != nil {
		return nil, fmt.Errorf("client: get workflow result: %w", err)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("client: get workflow result of %q: negative timeout %s", inst.InstanceID, timeout)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	watch, err := c.b.WatchResults(inst.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("client: get workflow result of %q: %w", inst.InstanceID, err)
	}
	defer watch.Stop()
	if c.afterWatch != nil {
		c.afterWatch(inst.InstanceID)
	}

	ended := func() error {
		if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("client: no result from instance %q within %s: %w", inst.InstanceID, timeout, ctx.Err())
		}
		return fmt.Errorf("client: waiting for the result of instance %q: %w", inst.InstanceID, ctx.Err())
	}
	for {
		out, running, err := c.lookupOutcome(ctx, inst)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ended()
			}
			return nil, err
		}
		if out != nil {
			return out, nil
		}
		// Not yet: wait for a notice, or for the poll interval in case a
		// notice was lost.
		if c.beforeWait != nil {
			c.beforeWait(inst.InstanceID)
		}
		wctx, cancel := context.WithTimeout(ctx, c.pollInterval)
		n, err := watch.Next(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ended()
		case err != nil && wctx.Err() == nil:
			return nil, fmt.Errorf("client: waiting for the result of instance %q: %w", inst.InstanceID, err)
		case err == nil && n.Outcome && running != "" && n.ExecutionID == running:
			// The end of the very run awaited, with its outcome: no
			// need to read the registry again.
			return outcomeFromNotice(n), nil
		}
	}
}

// lookupOutcome returns the outcome of the run inst asks for, or nil if it
// has not ended yet; then running names the run whose end is the outcome
// (empty when that is not known yet, between runs).
func (c *Client) lookupOutcome(ctx context.Context, inst *workflow.Instance) (out *outcome, running string, err error) {
	rec, err := c.getRecord(ctx, inst.InstanceID)
	if err != nil {
		return nil, "", fmt.Errorf("client: get workflow result: %w", err)
	}
	run := inst.ExecutionID
	if run == "" {
		run = rec.ExecutionID
	}
	ref, err := c.followRun(ctx, rec, run)
	if err != nil {
		return nil, "", fmt.Errorf("client: get workflow result: %w", err)
	}
	if !ref.Current {
		return outcomeFromEvent(rec.InstanceID, ref.Run, ref.WorkflowName, ref.Final), "", nil
	}
	switch rec.Status {
	case streams.StatusRunning:
		return nil, ref.Run, nil
	case streams.StatusContinuedAsNew:
		// Between runs: the next run is coming.
		return nil, "", nil
	}
	if rec.ResultInHistory {
		// Too large for the record: the run's final event has it.
		final, name, err := c.finalEvent(ctx, rec.InstanceID, rec.ExecutionID)
		if err != nil {
			return nil, "", fmt.Errorf("client: get workflow result: %w", err)
		}
		if final != nil {
			return outcomeFromEvent(rec.InstanceID, rec.ExecutionID, name, final), "", nil
		}
	}
	return outcomeFromRecord(rec), "", nil
}
