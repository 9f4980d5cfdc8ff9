package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// Sentinel errors callers match with errors.Is.
var (
	// ErrInstanceAlreadyExists means a start used the ID of an instance
	// whose run has not finished. It is the same value as
	// workflow.ErrInstanceAlreadyExists and streams.ErrInstanceExists.
	ErrInstanceAlreadyExists = workflow.ErrInstanceAlreadyExists

	// ErrInstanceNotFound means no instance has the ID. It is the same
	// value as workflow.ErrInstanceNotFound and streams.ErrInstanceNotFound,
	// so an error from any layer matches it.
	ErrInstanceNotFound = workflow.ErrInstanceNotFound

	// ErrInstanceNotFinished means an operation that needs a finished
	// instance (RemoveWorkflowInstance) met one that is still running.
	ErrInstanceNotFinished = errors.New("workflow instance not finished")

	// ErrInstanceFinished means a signal, cancel or terminate request was
	// sent to an instance (or a run) that has already ended.
	ErrInstanceFinished = errors.New("workflow instance already finished")

	// ErrExecutionNotFound means the instance has no run with the
	// ExecutionID given: neither its current run nor an earlier one.
	ErrExecutionNotFound = errors.New("workflow run not found")

	// ErrWorkflowCanceled is the error GetWorkflowResult returns for a run
	// that ended canceled.
	ErrWorkflowCanceled = errors.New("workflow canceled")

	// ErrWorkflowTerminated is the error GetWorkflowResult returns for a
	// run that was terminated; the error's text includes the reason.
	ErrWorkflowTerminated = errors.New("workflow terminated")

	// ErrNoQueryResponder means no worker serves the queries of the
	// instance's queue. It is streams.ErrNoQueryResponder.
	ErrNoQueryResponder = streams.ErrNoQueryResponder
)

// Defaults of Options.
const (
	// DefaultResultPollInterval is how often GetWorkflowResult re-reads the
	// registry when no result notice arrives.
	DefaultResultPollInterval = 2 * time.Second

	// DefaultSettleTimeout bounds how long a cancel or terminate request
	// waits for an instance that is between two runs (continued as new,
	// next run not yet registered).
	DefaultSettleTimeout = 10 * time.Second
)

// Client starts workflow instances and talks to them. It is safe for
// concurrent use. Create it with New or NewWithOptions.
type Client struct {
	b    *streams.Backend
	conv converter.Converter
	log  *slog.Logger

	pollInterval  time.Duration
	settleTimeout time.Duration
	now           func() time.Time

	// Test hooks. afterWatch runs after GetWorkflowResult has subscribed
	// to result notices and before it first reads the registry; beforeWait
	// runs each time it has read the registry, found no result, and is
	// about to wait for a notice.
	afterWatch func(instanceID string)
	beforeWait func(instanceID string)
	// betweenRuns runs each time settledRecord finds the instance between
	// runs, before it waits to read again.
	betweenRuns func(instanceID string)
	// beforeRemove runs when RemoveWorkflowInstance has checked the entry
	// and is about to delete.
	beforeRemove func(instanceID string)
	// publishEvent, if set, publishes inbox events in place of the
	// backend's PublishEvent.
	publishEvent func(ctx context.Context, queue, instanceID string, e *history.Event) error
	props        []workflow.ContextPropagator
}

// Options configure a Client. The zero value (or nil) gives the defaults.
type Options struct {
	// Logger receives the client's log lines. Nil means the backend's
	// logger.
	Logger *slog.Logger

	// ResultPollInterval is how often GetWorkflowResult re-reads the
	// registry when no result notice arrives (notices travel over core
	// NATS and are not guaranteed, e.g. across a reconnect). Zero means
	// DefaultResultPollInterval.
	ResultPollInterval time.Duration

	// SettleTimeout bounds how long CancelWorkflowInstance and
	// TerminateWorkflowInstance wait for an instance that is between runs.
	// Zero means DefaultSettleTimeout.
	SettleTimeout time.Duration

	// ContextPropagators carry values of the context given to
	// CreateWorkflowInstance into the workflow (workflow.ContextPropagator);
	// use the same as the workers'.
	ContextPropagators []workflow.ContextPropagator
}

// New returns a client of the backend's namespace with the default options.
func New(b *streams.Backend) *Client { return NewWithOptions(b, nil) }

// NewWithOptions returns a client of the backend's namespace. A nil opts
// means the defaults. It panics if b is nil.
func NewWithOptions(b *streams.Backend, opts *Options) *Client {
	if b == nil {
		panic("client: nil *streams.Backend")
	}
	if opts == nil {
		opts = &Options{}
	}
	c := &Client{
		b:             b,
		conv:          b.Converter(),
		log:           opts.Logger,
		pollInterval:  opts.ResultPollInterval,
		settleTimeout: opts.SettleTimeout,
		props:         opts.ContextPropagators,
		now:           func() time.Time { return time.Now().UTC() },
	}
	if c.log == nil {
		c.log = b.Logger()
	}
	c.log = c.log.With(logkey.Component, "client")
	if c.pollInterval <= 0 {
		c.pollInterval = DefaultResultPollInterval
	}
	if c.settleTimeout <= 0 {
		c.settleTimeout = DefaultSettleTimeout
	}
	return c
}

// Backend is the backend the client works on.
func (c *Client) Backend() *streams.Backend { return c.b }

// Converter is the converter the client encodes and decodes payloads with:
// the backend's (streams.WithConverter).
func (c *Client) Converter() converter.Converter { return c.conv }

// checkInstance validates a *workflow.Instance given by a caller.
func checkInstance(inst *workflow.Instance) error {
	if inst == nil {
		return errors.New("nil *workflow.Instance")
	}
	if _, err := streams.EncodeInstanceID(inst.InstanceID); err != nil {
		return err
	}
	return nil
}

// getRecord reads an instance's registry entry, turning streams' not-found
// into ErrInstanceNotFound.
func (c *Client) getRecord(ctx context.Context, instanceID string) (*streams.InstanceRecord, error) {
	rec, err := c.b.GetInstance(ctx, instanceID)
	if errors.Is(err, streams.ErrInstanceNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrInstanceNotFound, instanceID)
	}
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// settledRecord reads an instance's registry entry for a caller that asks
// about run (empty: the current run) and, while it shows the instance
// between two runs (continued as new, the next run not yet registered),
// reads it again until it moves on or SettleTimeout passes. An entry that
// does not show a running run, or does not know run, is read again from
// the registry's leader: a replica behind it may still show the run a
// start just replaced.
func (c *Client) settledRecord(ctx context.Context, instanceID, run string) (*streams.InstanceRecord, error) {
	rec, err := c.recordWithRun(ctx, instanceID, run, false)
	if err != nil {
		return nil, err
	}
	if rec.Status != streams.StatusRunning {
		if rec, err = c.recordWithRun(ctx, instanceID, run, true); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(c.settleTimeout)
	wait := 10 * time.Millisecond
	for rec.Status == streams.StatusContinuedAsNew && time.Now().Before(deadline) {
		if c.betweenRuns != nil {
			c.betweenRuns(instanceID)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
		if rec, err = c.recordWithRun(ctx, instanceID, run, true); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// runRef says where a run stands as the registry and the histories tell.
type runRef struct {
	// Run is where the chain of continue-as-new runs from the asked run
	// stops: the instance's current run, or an earlier run that ended
	// otherwise.
	Run string
	// Current reports whether Run is the instance's current run.
	Current bool
	// Final is the final event of Run when it is not current, and
	// WorkflowName the workflow that run ran.
	Final        *history.Event
	WorkflowName string
}

// followRun finds where run leads: run itself when it is the current run;
// otherwise, when it is an earlier run, its history says how it ended, and a
// run that continued as new is followed to the next run, until the current
// run or a run that ended otherwise. A run the instance never had gives
// ErrExecutionNotFound.
func (c *Client) followRun(ctx context.Context, rec *streams.InstanceRecord, run string) (*runRef, error) {
	for {
		if run == rec.ExecutionID {
			return &runRef{Run: run, Current: true}, nil
		}
		if ok, err := c.hasRun(ctx, rec, run); err != nil {
			return nil, err
		} else if !ok {
			return nil, fmt.Errorf("%w: instance %q has no run %q (current run %q)", ErrExecutionNotFound, rec.InstanceID, run, rec.ExecutionID)
		}
		final, name, err := c.finalEvent(ctx, rec.InstanceID, run)
		if err != nil {
			return nil, err
		}
		if final == nil {
			return nil, fmt.Errorf("run %q of instance %q is not its current run (%q), and its history does not say how it ended",
				run, rec.InstanceID, rec.ExecutionID)
		}
		if final.Kind == history.WorkflowFailed {
			// A failed run its retry policy retried is followed by the
			// retry, whose ID is derived from it.
			if next := streams.RetriedRunID(run); next == rec.ExecutionID || rec.Listed(next) {
				run = next
				continue
			}
		}
		if final.Kind != history.WorkflowContinuedAsNew {
			return &runRef{Run: run, Final: final, WorkflowName: name}, nil
		}
		// The next run's ID is derived from this one's.
		run = streams.ContinuedRunID(run)
	}
}

// finalEvent returns the final event of a run's history (nil when the run
// has none) and the name of the workflow the run ran.
func (c *Client) finalEvent(ctx context.Context, instanceID, run string) (*history.Event, string, error) {
	h, err := c.b.ReadHistory(ctx, instanceID, run)
	if err != nil {
		return nil, "", fmt.Errorf("read history of run %q of instance %q: %w", run, instanceID, err)
	}
	var name string
	var final *history.Event
	scan := func(commits []*history.Commit) {
		for _, cm := range commits {
			for i := range cm.Events {
				e := &cm.Events[i]
				switch {
				case e.Kind == history.WorkflowStarted && name == "":
					name = e.Name
				case e.Kind.Final() && final == nil:
					final = e
				}
			}
		}
	}
	scan(h.Commits)
	if final == nil {
		// The read may have come from a replica behind the history's
		// leader, while the registry already told the caller the run
		// ended: the leader's last commit holds the final event if
		// there is one.
		last, err := c.b.LastCommitLatest(ctx, instanceID, run)
		if err != nil {
			return nil, "", fmt.Errorf("read history of run %q of instance %q: %w", run, instanceID, err)
		}
		if last != nil {
			scan([]*history.Commit{last})
		}
	}
	return final, name, nil
}

// recordWithRun reads an instance's registry entry for a caller that asks
// about run (empty: the current run). An entry from a replica that has
// not applied the latest write may not know run yet, as when the run
// started a moment ago: then the registry's leader is asked.
func (c *Client) recordWithRun(ctx context.Context, instanceID, run string, latest bool) (*streams.InstanceRecord, error) {
	var rec *streams.InstanceRecord
	var err error
	if !latest {
		rec, err = c.getRecord(ctx, instanceID)
		if err != nil || run == "" || rec.Listed(run) {
			return rec, err
		}
	}
	rec, err = c.b.GetInstanceLatest(ctx, instanceID)
	if errors.Is(err, streams.ErrInstanceNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrInstanceNotFound, instanceID)
	}
	return rec, err
}

// hasRun reports whether run is a run of the instance: its current run, an
// earlier one its record lists, or an older one whose history is stored.
func (c *Client) hasRun(ctx context.Context, rec *streams.InstanceRecord, run string) (bool, error) {
	if rec.Listed(run) {
		return true, nil
	}
	if rec.EarlierRuns == 0 || streams.CheckExecutionID(run) != nil {
		return false, nil
	}
	return c.b.HasHistory(ctx, rec.InstanceID, run)
}
