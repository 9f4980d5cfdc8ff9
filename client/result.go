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
// successors are followed the same way (this is the default on purpose:
// the instance's result is what a caller waits for; GetRunEnd reads one
// run's own end, such as the arguments it continued with), and if it is an earlier run that
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

// outcome is how a run ended: from the registry record, a result notice or
// the run's final event, which all carry the same fields.
type outcome struct {
	InstanceID   string
	ExecutionID  string
	WorkflowName string
	Status       streams.Status
	Result       []byte
	// Failure is the run's error; for a terminated run its message is the
	// reason (history.Event.RunFailure).
	Failure *history.Failure
}

// err is the error GetWorkflowResult returns for the outcome, nil for a
// completed run.
func (o *outcome) err() error {
	run := fmt.Sprintf("workflow %s (instance %q, run %q)", o.WorkflowName, o.InstanceID, o.ExecutionID)
	switch o.Status {
	case streams.StatusCompleted:
		return nil
	case streams.StatusFailed:
		if err := engine.ErrorFromFailure(o.Failure); err != nil {
			return err
		}
		return &workflow.Error{Message: run + " failed without an error"}
	case streams.StatusCanceled:
		return fmt.Errorf("client: %s: %w", run, ErrWorkflowCanceled)
	case streams.StatusTerminated:
		if o.Failure != nil && o.Failure.Message != "" {
			return fmt.Errorf("client: %s: %w: %s", run, ErrWorkflowTerminated, o.Failure.Message)
		}
		return fmt.Errorf("client: %s: %w", run, ErrWorkflowTerminated)
	}
	return fmt.Errorf("client: %s ended with unknown status %q", run, o.Status)
}

// recordOutcome is the outcome of the current run the registry record
// holds.
func recordOutcome(rec *streams.InstanceRecord) *outcome {
	return &outcome{rec.InstanceID, rec.ExecutionID, rec.WorkflowName, rec.Status, rec.Result, rec.Failure}
}

// eventOutcome is the outcome a run's final event gives.
func eventOutcome(instanceID, run, workflowName string, e *history.Event) *outcome {
	return &outcome{instanceID, run, workflowName, streams.StatusOf(e.Kind), e.Result, e.RunFailure()}
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
	// latest: a notice said the awaited run ended, so an entry still
	// showing it running came from a replica behind the leader.
	var latest bool
	for {
		out, running, err := c.lookupOutcome(ctx, inst, latest)
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
			return &outcome{n.InstanceID, n.ExecutionID, n.WorkflowName, n.Status, n.Result, n.Failure}, nil
		case err == nil && running != "" && n.ExecutionID == running:
			latest = true
		}
	}
}

// lookupOutcome returns the outcome of the run inst asks for, or nil if it
// has not ended yet; then running names the run whose end is the outcome
// (empty when that is not known yet, between runs).
//
// latest reads the registry's leader, not any replica.
func (c *Client) lookupOutcome(ctx context.Context, inst *workflow.Instance, latest bool) (out *outcome, running string, err error) {
	rec, err := c.recordWithRun(ctx, inst.InstanceID, inst.ExecutionID, latest)
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
		return eventOutcome(rec.InstanceID, ref.Run, ref.WorkflowName, ref.Final), "", nil
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
			return eventOutcome(rec.InstanceID, rec.ExecutionID, name, final), "", nil
		}
	}
	return recordOutcome(rec), "", nil
}

// RunEnd is how one run ended, read from its own final event.
type RunEnd struct {
	InstanceID   string
	ExecutionID  string
	WorkflowName string
	// Kind is the final event: WorkflowCompleted, WorkflowFailed,
	// WorkflowCanceled, WorkflowTerminated or WorkflowContinuedAsNew.
	Kind   history.Kind
	Status streams.Status
	// EncodedResult is a completed run's result; decode it with the
	// client's Converter.
	EncodedResult []byte
	// Failure is the error of a run that did not complete (for a
	// terminated run, its message is the reason).
	Failure *history.Failure
	// ContinuedAs is the run that followed a continue-as-new, and
	// EncodedArgs the arguments the run passed on to it.
	ContinuedAs string
	EncodedArgs [][]byte
}

// GetRunEnd reads how the run inst names ended, from that run's own final
// event. Unlike GetWorkflowResult, which follows a run that continued as
// new to the run that ends the instance, it stops at the run asked for:
// for a run that continued, Kind is WorkflowContinuedAsNew and EncodedArgs
// holds the arguments it passed on. It does not wait: a run still going
// gives ErrInstanceNotFinished. An empty ExecutionID means the current run.
func (c *Client) GetRunEnd(ctx context.Context, inst *workflow.Instance) (*RunEnd, error) {
	if err := checkInstance(inst); err != nil {
		return nil, fmt.Errorf("client: get run end: %w", err)
	}
	rec, err := c.recordWithRun(ctx, inst.InstanceID, inst.ExecutionID, false)
	if err != nil {
		return nil, fmt.Errorf("client: get run end: %w", err)
	}
	run := inst.ExecutionID
	if run == "" {
		run = rec.ExecutionID
	} else if ok, err := c.hasRun(ctx, rec, run); err != nil {
		return nil, fmt.Errorf("client: get run end: %w", err)
	} else if !ok {
		return nil, fmt.Errorf("client: get run end: %w: instance %q has no run %q", ErrExecutionNotFound, inst.InstanceID, run)
	}
	final, name, err := c.finalEvent(ctx, inst.InstanceID, run)
	if err != nil {
		return nil, fmt.Errorf("client: get run end: %w", err)
	}
	if final == nil {
		return nil, fmt.Errorf("client: get run end: %w: run %q of instance %q has not ended", ErrInstanceNotFinished, run, inst.InstanceID)
	}
	end := &RunEnd{
		InstanceID: inst.InstanceID, ExecutionID: run, WorkflowName: name,
		Kind: final.Kind, Status: streams.StatusOf(final.Kind),
		EncodedResult: final.Result, Failure: final.RunFailure(),
	}
	if final.Kind == history.WorkflowContinuedAsNew {
		end.ContinuedAs, end.EncodedArgs = streams.ContinuedRunID(run), final.Args
	}
	return end, nil
}
