package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// withStartAttempts bounds how often a *WithStart call goes round "start,
// or find the running run; deliver": a run that ends between the two
// sends the call round again, to start a new one.
const withStartAttempts = 5

// SignalWithStartWorkflow sends the signal signalName with signalArg to
// the running run of opts.InstanceID, starting the instance (wf with args,
// as CreateWorkflowInstance does) first unless a run of that ID is
// running. It returns the run that got the signal.
//
// Concurrent callers start one run between them, and every caller's
// signal reaches it: the registry's create is the gate (one caller
// starts, the others find the run), and a signal that overtakes its run's
// start waits in the inbox for it. A run that ends between the check and
// the signal makes the call start a new run. The signal is one per call
// (retries inside the call deliver it once).
//
// opts.InstanceID must be set: signal-with-start is about a known
// instance.
func (c *Client) SignalWithStartWorkflow(ctx context.Context, opts WorkflowInstanceOptions, wf any, args []any,
	signalName string, signalArg any) (*workflow.Instance, error) {
	if opts.InstanceID == "" {
		return nil, fmt.Errorf("client: signal-with-start: empty instance ID")
	}
	if signalName == "" {
		return nil, fmt.Errorf("client: signal-with-start instance %q: empty signal name", opts.InstanceID)
	}
	payload, err := c.conv.Encode(signalArg)
	if err != nil {
		return nil, fmt.Errorf("client: signal-with-start %q to instance %q: %w", signalName, opts.InstanceID, err)
	}
	inboxID := streams.ClientSignalInboxID(streams.NewID())
	var inst *workflow.Instance
	err = c.withStart(ctx, opts, wf, args, func(run string, queue string) error {
		inst = &workflow.Instance{InstanceID: opts.InstanceID, ExecutionID: run}
		return c.publishInbox(ctx, queue, opts.InstanceID, &history.Event{
			Kind:        history.SignalReceived,
			Time:        c.now(),
			InboxID:     inboxID,
			ExecutionID: run,
			Name:        signalName,
			Args:        [][]byte{payload},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("client: signal-with-start %q to instance %q: %w", signalName, opts.InstanceID, err)
	}
	return inst, nil
}

// UpdateWithStartWorkflow sends an update to the running run of
// opts.InstanceID, starting the instance (wf with args) first unless a run
// of that ID is running, and waits for the update's result as
// UpdateWorkflow does. update.Instance is ignored (the instance is
// opts.InstanceID, the run the one running or started); update.Name and
// update.UpdateID are used as in UpdateWorkflow. It returns the result
// and the run that took the update. Concurrent callers start one run
// between them; a run that ends before it accepts the update sends the
// call round again to start a new one (with the same update ID).
func UpdateWithStartWorkflow[T any](ctx context.Context, c *Client, opts WorkflowInstanceOptions, wf any, args []any,
	update UpdateOptions, updateArgs ...any) (T, *workflow.Instance, error) {
	var zero T
	if opts.InstanceID == "" {
		return zero, nil, fmt.Errorf("client: update-with-start: empty instance ID")
	}
	if update.UpdateID == "" {
		update.UpdateID = streams.NewID()
	}
	var inst *workflow.Instance
	var result []byte
	err := c.withStart(ctx, opts, wf, args, func(run string, _ string) error {
		inst = &workflow.Instance{InstanceID: opts.InstanceID, ExecutionID: run}
		u := update
		u.Instance = inst
		var err error
		result, err = c.UpdateWorkflowRaw(ctx, u, updateArgs...)
		return err
	})
	if err != nil {
		return zero, inst, err
	}
	var v T
	if len(result) > 0 {
		if err := c.conv.Decode(result, &v); err != nil {
			return zero, inst, fmt.Errorf("client: update %q: decode result into %T: %w", update.Name, v, err)
		}
	}
	return v, inst, nil
}

// withStart starts the instance unless it runs, then calls deliver with
// the running run; deliver's ErrInstanceFinished (the run ended meanwhile)
// sends it round again.
func (c *Client) withStart(ctx context.Context, opts WorkflowInstanceOptions, wf any, args []any,
	deliver func(run, queue string) error) error {
	var err error
	for range withStartAttempts {
		var inst *workflow.Instance
		inst, err = c.CreateWorkflowInstance(ctx, opts, wf, args...)
		var run, queue string
		switch {
		case err == nil:
			run, queue = inst.ExecutionID, opts.Queue
			if queue == "" {
				queue = streams.DefaultQueue
			}
		case errors.Is(err, ErrInstanceAlreadyExists):
			rec, rerr := c.settledRecord(ctx, opts.InstanceID, "")
			if errors.Is(rerr, ErrInstanceNotFound) {
				continue // removed meanwhile: start it
			}
			if rerr != nil {
				return rerr
			}
			if rec.Status != streams.StatusRunning {
				continue // ended meanwhile: start a new run
			}
			run, queue = rec.ExecutionID, rec.Queue
		default:
			return err
		}
		err = deliver(run, queue)
		if !errors.Is(err, ErrInstanceFinished) {
			return err
		}
	}
	return err
}
