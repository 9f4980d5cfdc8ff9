package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// ErrUpdateRejected is returned by UpdateWorkflow for an update the run
// rejected: its validator returned an error, or the workflow has no
// handler of that name. The error's message carries the reason. Nothing of
// a rejected update is recorded.
var ErrUpdateRejected = errors.New("update rejected")

// UpdateOptions say which run an update goes to, which update it is and,
// optionally, its ID.
type UpdateOptions struct {
	// Instance is the instance; an empty ExecutionID means its current run.
	Instance *workflow.Instance
	// Name is the update's name, as workflow.SetUpdateHandler knows it.
	Name string
	// UpdateID identifies the update: a run applies an update ID once,
	// and a call with the ID of an update the run already applied returns
	// its recorded outcome without running it again (after a client
	// crash, a lost connection, a caller's own retry). Empty means a new
	// random ID. At most streams.MaxUpdateIDLength bytes of UTF-8.
	UpdateID string
}

// Update polling: a caller that has heard nothing (a notice can be lost,
// it travels on core NATS) looks at the run's history after
// updateFirstPoll, then at growing intervals up to updateMaxPoll, and asks
// the run again when it has not accepted the update.
const (
	updateFirstPoll = time.Second
	updateMaxPoll   = 10 * time.Second
)

// UpdateWorkflow sends the update opts.Name with args to a running run and
// waits for its handler's result (until ctx ends).
//
// The run's validator may reject it: ErrUpdateRejected with the reason,
// and nothing recorded. An accepted update is recorded, its handler runs
// as workflow code, and its result (or error, which arrives as a workflow's
// does: a *workflow.Error with the message and type, or a
// *workflow.PanicError) is recorded and returned.
//
// An unknown instance gives ErrInstanceNotFound. A run that has ended, or
// that ends (or continues as new) before it accepts the update or before
// the handler returns, gives ErrInstanceFinished: updates are not carried
// to the next run of an instance that continued as new; call again to
// address it. An update ID the run already applied returns the recorded
// outcome, even after the run ended.
func UpdateWorkflow[T any](ctx context.Context, c *Client, opts UpdateOptions, args ...any) (T, error) {
	var zero T
	result, err := c.UpdateWorkflowRaw(ctx, opts, args...)
	if err != nil {
		return zero, err
	}
	var v T
	if len(result) > 0 {
		if err := c.conv.Decode(result, &v); err != nil {
			return zero, fmt.Errorf("client: update %q: decode result into %T: %w", opts.Name, v, err)
		}
	}
	return v, nil
}

// UpdateWorkflowRaw is UpdateWorkflow returning the result as the
// converter encoded it (for tools that do not know its type).
func (c *Client) UpdateWorkflowRaw(ctx context.Context, opts UpdateOptions, args ...any) ([]byte, error) {
	if err := checkInstance(opts.Instance); err != nil {
		return nil, fmt.Errorf("client: update %q: %w", opts.Name, err)
	}
	inst := opts.Instance.InstanceID
	if opts.Name == "" {
		return nil, fmt.Errorf("client: update instance %q: empty update name", inst)
	}
	given := opts.UpdateID != ""
	updateID := opts.UpdateID
	if !given {
		updateID = streams.NewID()
	} else if err := streams.CheckUpdateID(updateID); err != nil {
		return nil, fmt.Errorf("client: update %q of instance %q: %w", opts.Name, inst, err)
	}
	what := fmt.Sprintf("update %q (ID %q) of instance %q", opts.Name, updateID, inst)
	payloads, err := call.EncodeArgs(c.conv, args)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, err)
	}
	rec, err := c.settledRecord(ctx, inst, opts.Instance.ExecutionID)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, err)
	}
	run := opts.Instance.ExecutionID
	if run == "" {
		run = rec.ExecutionID
	}
	u := &updateCall{c: c, inst: inst, run: run, updateID: updateID, what: what}
	if run != rec.ExecutionID || rec.Status != streams.StatusRunning {
		// Not running: only a recorded outcome can answer.
		if ok, err := c.hasRun(ctx, rec, run); err != nil {
			return nil, fmt.Errorf("client: %s: %w", what, err)
		} else if !ok {
			return nil, fmt.Errorf("client: %s: %w: no run %q", what, ErrExecutionNotFound, run)
		}
		if n, _, err := u.lookup(ctx); err != nil {
			return nil, err
		} else if n != nil {
			return u.answer(n)
		}
		return nil, fmt.Errorf("client: %s: %w: run %q is not running (the instance's run %q is %s)",
			what, ErrInstanceFinished, run, rec.ExecutionID, rec.Status)
	}

	watch, err := c.b.WatchUpdate(inst, updateID)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, err)
	}
	defer func() { _ = watch.Stop() }()
	if given {
		// Applied before? Then its outcome is recorded (or it is running
		// and its answer will come).
		n, finished, err := u.lookup(ctx)
		if err != nil {
			return nil, err
		}
		if n != nil {
			return u.answer(n)
		}
		if finished {
			return nil, fmt.Errorf("client: %s: %w: run %q has ended", what, ErrInstanceFinished, run)
		}
	}
	request := &history.Event{
		Kind:        history.UpdateRequested,
		ExecutionID: run,
		Name:        opts.Name,
		UpdateID:    updateID,
		Args:        payloads,
	}
	send := func() error {
		request.Time = c.now()
		request.InboxID = streams.UpdateInboxID(updateID, streams.NewID())
		if err := c.publishInbox(ctx, rec.Queue, inst, request); err != nil {
			return fmt.Errorf("client: %s: %w", what, err)
		}
		return nil
	}
	if err := send(); err != nil {
		return nil, err
	}
	poll := updateFirstPoll
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("client: %s: %w", what, ctx.Err())
		case msg := <-watch.C():
			n, err := streams.DecodeUpdateNotice(msg)
			if err != nil || n.ExecutionID != run {
				continue
			}
			return u.answer(n)
		case <-timer.C:
			n, finished, err := u.lookup(ctx)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil, fmt.Errorf("client: %s: %w", what, ctx.Err())
			case err != nil && c.b.Conn().IsClosed():
				return nil, fmt.Errorf("client: %s: %w (retry with the update ID %q to get its outcome)", what, nats.ErrConnectionClosed, updateID)
			case err != nil:
				c.log.Warn("update: reading the run's history failed; waiting on", logkey.Instance, inst, logkey.Err, err)
			case n != nil:
				return u.answer(n)
			case finished:
				return nil, fmt.Errorf("client: %s: %w: run %q ended before the update completed", what, ErrInstanceFinished, run)
			case !u.accepted:
				// Not accepted yet: the request may wait in the inbox, or
				// its rejection's notice was lost. Asking again is safe:
				// the run applies an update ID once.
				if err := send(); err != nil {
					return nil, err
				}
			}
			poll = min(2*poll, updateMaxPoll)
			timer.Reset(poll)
		}
	}
}

// updateCall is one UpdateWorkflow call's view of its update.
type updateCall struct {
	c        *Client
	inst     string
	run      string
	updateID string
	what     string
	// accepted says the history holds the update's UpdateAccepted.
	accepted bool
}

// lookup reads the run's history for the update's recorded outcome (as a
// notice), and says whether the run has ended.
func (u *updateCall) lookup(ctx context.Context) (n *streams.UpdateNotice, finished bool, err error) {
	h, err := u.c.b.ReadHistory(ctx, u.inst, u.run)
	if err != nil {
		return nil, false, fmt.Errorf("client: %s: read history: %w", u.what, err)
	}
	for _, cm := range h.Commits {
		for i := range cm.Events {
			e := &cm.Events[i]
			switch {
			case e.Kind == history.UpdateAccepted && e.UpdateID == u.updateID:
				u.accepted = true
			case e.Kind == history.UpdateCompleted && e.UpdateID == u.updateID:
				return &streams.UpdateNotice{InstanceID: u.inst, ExecutionID: u.run, UpdateID: u.updateID,
					Completed: true, Result: e.Result, Failure: e.Failure}, true, nil
			case e.Kind.Final():
				finished = true
			}
		}
	}
	return nil, finished, nil
}

// answer turns a notice into UpdateWorkflow's return.
func (u *updateCall) answer(n *streams.UpdateNotice) ([]byte, error) {
	switch {
	case n.Completed:
		if n.Failure != nil {
			if err := engine.ErrorFromFailure(n.Failure); err != nil {
				return nil, err
			}
		}
		return n.Result, nil
	case n.Rejected != "":
		return nil, fmt.Errorf("client: %s: %w: %s", u.what, ErrUpdateRejected, n.Rejected)
	case n.Finished:
		return nil, fmt.Errorf("client: %s: %w: run %q ended (or continued as new) before the update completed",
			u.what, ErrInstanceFinished, u.run)
	}
	return nil, fmt.Errorf("client: %s: an answer that says nothing", u.what)
}
