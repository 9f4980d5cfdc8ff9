package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// SignalWorkflow sends the signal name with arg to the current run of an
// instance, where workflow.NewSignalChannel(ctx, name) receives it. Each
// call is a signal of its own (two calls deliver two signals), and one
// call is one signal: a publish whose outcome is unknown (a timeout, the
// server away) is retried inside the call with the same message ID, which
// the server and the run take once. To make your own retries across calls
// deliver one signal, give the signal an ID with SignalWorkflowWithOptions.
//
// An unknown instance gives ErrInstanceNotFound, a finished one
// ErrInstanceFinished. An instance between two runs (it continued as new)
// gets the signal in its next run once that is registered.
func (c *Client) SignalWorkflow(ctx context.Context, instanceID, name string, arg any) error {
	return c.SignalWorkflowWithOptions(ctx, SignalOptions{InstanceID: instanceID, Name: name}, arg)
}

// SignalOptions say where a signal goes and, optionally, what it is
// called.
type SignalOptions struct {
	// InstanceID is the instance whose current run gets the signal.
	InstanceID string
	// Name is the signal's name, as workflow.NewSignalChannel knows it.
	Name string
	// SignalID, if set, identifies the signal: calls with the same ID
	// deliver it once, so a caller that retries a call whose outcome it
	// does not know (its process restarted, its own deadline ended) sends
	// no second signal. A run never applies two signals of one ID; the
	// inbox drops a second copy within the server's duplicate window
	// (2 minutes by default), so a retry later than that may reach the
	// next run of an instance that continued as new meanwhile. Empty means
	// a new random ID: every call is a new signal. At most
	// MaxSignalIDLength bytes of UTF-8 without control characters.
	SignalID string
}

// MaxSignalIDLength bounds SignalOptions.SignalID.
const MaxSignalIDLength = 255

// Publishing an inbox event whose outcome is unknown is tried up to
// publishAttempts times, waiting publishRetryWait after the first failure
// and twice as long after each next one, while the caller's context lasts.
const (
	publishAttempts  = 4
	publishRetryWait = 100 * time.Millisecond
)

// SignalWorkflowWithOptions is SignalWorkflow with options: a signal that
// carries its own ID (see SignalOptions.SignalID).
func (c *Client) SignalWorkflowWithOptions(ctx context.Context, opts SignalOptions, arg any) error {
	instanceID, name := opts.InstanceID, opts.Name
	if name == "" {
		return fmt.Errorf("client: signal instance %q: empty signal name", instanceID)
	}
	if _, err := streams.EncodeInstanceID(instanceID); err != nil {
		return fmt.Errorf("client: signal %q: %w", name, err)
	}
	inboxID := streams.ClientSignalInboxID(streams.NewID())
	if opts.SignalID != "" {
		if err := checkSignalID(opts.SignalID); err != nil {
			return fmt.Errorf("client: signal %q to instance %q: %w", name, instanceID, err)
		}
		inboxID = streams.CallerSignalInboxID(instanceID, opts.SignalID)
	}
	payload, err := c.conv.Encode(arg)
	if err != nil {
		return fmt.Errorf("client: signal %q to instance %q: %w", name, instanceID, err)
	}
	rec, err := c.settledRecord(ctx, instanceID, "")
	if err != nil {
		return fmt.Errorf("client: signal %q: %w", name, err)
	}
	if err := c.checkRunning("signal "+strconv.Quote(name), rec); err != nil {
		return err
	}
	ctx, span := c.span(ctx, "SignalWorkflow "+name, trace.SpanKindProducer, func() []attribute.KeyValue {
		return []attribute.KeyValue{
			telemetry.KeyMessagingOperationType.String("send"), telemetry.KeyMessagingOperationName.String("signal"),
			telemetry.KeyMessagingDestination.String(rec.Queue), telemetry.KeyQueue.String(rec.Queue),
			telemetry.KeyWorkflow.String(rec.WorkflowName), telemetry.KeySignal.String(name),
			telemetry.KeyInstanceID.String(instanceID), telemetry.KeyExecutionID.String(rec.ExecutionID),
		}
	})
	e := &history.Event{
		Kind:        history.SignalReceived,
		Time:        c.now(),
		InboxID:     inboxID,
		ExecutionID: rec.ExecutionID,
		Name:        name,
		Args:        [][]byte{payload},
		Trace:       c.b.Telemetry().Inject(ctx),
	}
	if err := c.publishInbox(ctx, rec.Queue, instanceID, e); err != nil {
		err = fmt.Errorf("client: signal %q to instance %q: %w", name, instanceID, err)
		telemetry.EndSpan(span, err)
		return err
	}
	span.End()
	return nil
}

// checkSignalID refuses an ID that cannot be a message ID.
func checkSignalID(id string) error {
	if len(id) > MaxSignalIDLength {
		return fmt.Errorf("signal ID of %d bytes is longer than %d", len(id), MaxSignalIDLength)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("signal ID %q is not valid UTF-8", id)
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("signal ID %q has a control character at byte %d", id, i)
	}
	return nil
}

// publishInbox publishes an inbox event. A publish whose outcome is
// unknown (no answer in time, the connection down, no stream answering)
// may or may not have been stored: it is published again, unchanged, so
// its message ID lets the server drop the copy if the first was stored.
// An error the server answered is final.
func (c *Client) publishInbox(ctx context.Context, queue, instanceID string, e *history.Event) error {
	publish := c.b.PublishEvent
	if c.publishEvent != nil {
		publish = c.publishEvent
	}
	wait := publishRetryWait
	for attempt := 1; ; attempt++ {
		err := publish(ctx, queue, instanceID, e)
		if err == nil || !unknownOutcome(err) || ctx.Err() != nil {
			return err
		}
		if attempt == publishAttempts {
			return fmt.Errorf("%w (outcome unknown after %d attempts: it may have been delivered; "+
				"a retry with the same ID delivers it once)", err, attempt)
		}
		c.log.Warn("inbox publish had an unknown outcome; publishing it again with the same message ID",
			logkey.Instance, instanceID, logkey.Kind, e.Kind.String(), "inbox_id", e.InboxID, logkey.Attempt, attempt, logkey.Err, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// unknownOutcome reports whether a failed publish may still have been
// stored: its answer did not come (a timeout, a connection lost or
// reconnecting), or no stream answered.
func unknownOutcome(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
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
	rec, err := c.settledRecord(ctx, inst.InstanceID, inst.ExecutionID)
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
	if err := c.publishInbox(ctx, rec.Queue, inst.InstanceID, e); err != nil {
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
	var beforeDelete func()
	if c.beforeRemove != nil {
		beforeDelete = func() { c.beforeRemove(id) }
	}
	if err := c.b.RemoveInstance(ctx, rec, beforeDelete); err != nil {
		return fmt.Errorf("client: remove: %w", err)
	}
	c.log.Info("removed workflow instance", logkey.Instance, id, "runs", rec.RunCount())
	return nil
}
