package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/runopts"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// startPublishTimeout bounds the publish of a start event once the
// registry entry is written; it does not end with the caller's context.
const startPublishTimeout = 10 * time.Second

// WorkflowInstanceOptions say which instance to start and where.
type WorkflowInstanceOptions struct {
	// InstanceID names the instance; empty means a new random UUID.
	// Any valid UTF-8 of up to streams.MaxInstanceIDLength bytes.
	InstanceID string
	// Queue is the queue whose workers run the workflow; empty means
	// streams.DefaultQueue ("default").
	Queue string
	// Memo is a set of non-indexed values kept with the instance and
	// shown by describe, wfctl describe and the web UI (a note, who
	// started it, a ticket link). Each value is encoded by the backend's
	// converter; it is not searchable (search attributes are).
	Memo map[string]any
	// SearchAttributes are keyword attributes to list and filter the
	// instance by (ListOptions.SearchAttributes): at most
	// streams.MaxSearchAttributes pairs, keys of [A-Za-z0-9_-] up to 64
	// bytes, values up to 256 bytes of UTF-8 (a pair with an empty value
	// is left out); anything else is refused with an error matching
	// streams.ErrInvalidSearchAttribute. They are kept on the instance's
	// registry entry across continue-as-new, replaced when the ID is
	// reused, and shown by describe, wfctl and the web UI.
	SearchAttributes map[string]string

	// ExecutionTimeout bounds all the instance's runs together, across
	// continue-as-new and retries, counted from its first run's start;
	// RunTimeout bounds each run. A run past either fails with a
	// *workflow.Error of type workflow.ErrTypeTimeout. 0 = no limit.
	ExecutionTimeout time.Duration
	RunTimeout       time.Duration
	// RetryOptions, when set, starts the instance again (a new run, same
	// arguments, after the policy's backoff) when a run fails; nil (the
	// default) means one run. See workflow.SubWorkflowOptions.RetryOptions.
	RetryOptions *workflow.RetryOptions
	// StartDelay starts the run this long from now: the start is a
	// JetStream message schedule, delivered by the server at that time
	// (nothing polls). Until then the instance exists, running, with no
	// history; describe shows when it starts (StartAt).
	StartDelay time.Duration
}

// runOptions is the history's form of the options' timeouts, retry
// policy and start delay; nil when none is set.
func (o *WorkflowInstanceOptions) runOptions() (*history.RunOptions, error) {
	if o.ExecutionTimeout < 0 || o.RunTimeout < 0 || o.StartDelay < 0 {
		return nil, errors.New("negative ExecutionTimeout, RunTimeout or StartDelay")
	}
	ro := &history.RunOptions{ExecutionTimeout: o.ExecutionTimeout, RunTimeout: o.RunTimeout, StartDelay: o.StartDelay}
	if o.RetryOptions != nil {
		ro.Retry = o.RetryOptions.WithDefaults().Stored()
	}
	if ro.Empty() {
		return nil, nil
	}
	return ro, nil
}

// CreateWorkflowInstance starts a run of the workflow wf with args and
// returns the instance and its new run.
//
// wf is a workflow function (named as the worker registers it, see
// engine.FuncName) or its registered name as a string. For a function the
// number and types of args are checked against its parameters before
// anything is written; a name is not checked (the run fails with an
// ArgumentError if the arguments do not fit).
//
// An instance ID that is free starts a new instance. The ID of an instance
// whose run has finished starts a new run of it (the finished run is kept in
// the instance's Runs). The ID of an instance that is running gives an error
// matching ErrInstanceAlreadyExists; if that run's history is still empty (a
// starter that died between writing the registry and the start event), its
// start event is published again first, which gets the instance going.
func (c *Client) CreateWorkflowInstance(ctx context.Context, opts WorkflowInstanceOptions, wf any, args ...any) (*workflow.Instance, error) {
	name, err := workflowName(wf, args)
	if err != nil {
		return nil, fmt.Errorf("client: create workflow instance: %w", err)
	}
	id := opts.InstanceID
	if id == "" {
		id = streams.NewID()
	}
	queue := opts.Queue
	if queue == "" {
		queue = streams.DefaultQueue
	}
	if _, err := streams.EncodeInstanceID(id); err != nil {
		return nil, fmt.Errorf("client: create instance of workflow %s: %w", name, err)
	}
	if _, err := streams.EncodeQueue(queue); err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}
	payloads, err := call.EncodeArgs(c.conv, args)
	if err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}

	memo, err := encodeMemo(c.conv, opts.Memo)
	if err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}
	if err := streams.CheckSearchAttributes(opts.SearchAttributes); err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}
	runOpts, err := opts.runOptions()
	if err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}
	hdr, err := workflow.InjectHeader(ctx, c.props)
	if err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: context propagation: %w", id, name, err)
	}
	run := streams.NewID()
	// The run's trace: a child of the caller's span, carried in the start
	// event (and so in the history) to every task of the run.
	ctx, span := c.span(ctx, "StartWorkflow "+name, trace.SpanKindProducer, func() []attribute.KeyValue {
		return []attribute.KeyValue{
			telemetry.KeyMessagingOperationType.String("send"), telemetry.KeyMessagingOperationName.String("start"),
			telemetry.KeyMessagingDestination.String(queue), telemetry.KeyQueue.String(queue),
			telemetry.KeyWorkflow.String(name), telemetry.KeyInstanceID.String(id), telemetry.KeyExecutionID.String(run),
		}
	})
	defer func() { telemetry.EndSpan(span, err) }()
	now := c.now()
	start := &history.Event{
		Kind:        history.WorkflowStarted,
		Time:        now,
		InboxID:     streams.StartInboxID(run),
		ExecutionID: run,
		Name:        name,
		Queue:       queue,
		Args:        payloads,
		Trace:       c.b.Telemetry().Inject(ctx),
		Memo:        memo,
		Run:         runopts.First(runOpts, now),
		Header:      hdr,
	}
	if err = c.b.FitEvent(ctx, id, start); err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}
	if err = c.checkEventSize(start, id, queue); err != nil {
		return nil, fmt.Errorf("client: create instance %q of workflow %s: %w", id, name, err)
	}

	if err = c.registerRun(ctx, id, start, opts.SearchAttributes); err != nil {
		return nil, err
	}
	// The entry is written: publish the start even if ctx ends now, so a
	// canceled caller does not leave an instance waiting for a retry.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startPublishTimeout)
	defer cancel()
	if err = c.b.PublishStartAt(pctx, queue, id, start, start.StartTime()); err != nil {
		return nil, fmt.Errorf("client: instance %q of workflow %s is registered, but its start could not be published "+
			"(start it again with the same ID to finish the start): %w", id, name, err)
	}
	c.log.Debug("started workflow instance", logkey.Instance, id, logkey.Execution, run, logkey.Workflow, name, logkey.Queue, queue)
	return &workflow.Instance{InstanceID: id, ExecutionID: run}, nil
}

// registerRun writes the registry entry of a new run: a new entry, or the
// entry of a finished instance moved on to the new run. For a running
// instance it returns ErrInstanceAlreadyExists (after healing a start that
// never reached the inbox).
func (c *Client) registerRun(ctx context.Context, id string, start *history.Event, attrs map[string]string) error {
	rec, reused, err := c.b.RegisterRunWithAttributes(ctx, id, start, attrs)
	switch {
	case errors.Is(err, streams.ErrInstanceExists):
		return c.alreadyRunning(ctx, rec, start)
	case err != nil:
		return fmt.Errorf("client: create instance %q of workflow %s: %w", id, start.Name, err)
	case reused != "":
		c.log.Info("started a new run of a finished instance", logkey.Instance, id,
			logkey.Execution, start.ExecutionID, "previous_execution_id", reused)
	}
	return nil
}

// alreadyRunning builds the error of a start whose instance ID is taken by a
// running instance. If that run's history is empty, its starter may have
// died before publishing the start event: publishing it again (same message
// ID, so a start already in the inbox is not stored twice) gets the instance
// going.
func (c *Client) alreadyRunning(ctx context.Context, existing *streams.InstanceRecord, start *history.Event) error {
	err := fmt.Errorf("client: %w: %q (workflow %s, run %q, %s)", ErrInstanceAlreadyExists,
		existing.InstanceID, existing.WorkflowName, existing.ExecutionID, existing.Status)
	// Only a client-started run of the same workflow is healed with this
	// call's arguments: a sub-workflow's start belongs to its parent's
	// worker, and a different workflow's arguments would not fit.
	// (The heal uses this call's arguments: the registry does not keep
	// the original ones.)
	if existing.Status != streams.StatusRunning || existing.Parent != nil || existing.WorkflowName != start.Name {
		return err
	}
	// ErrInstanceAlreadyExists must mean the instance is going: when its
	// start may still be missing and this call could not make sure it is
	// stored, say so with an error the caller retries on.
	unsure := func(what string, cause error) error {
		return fmt.Errorf("client: start instance %q: it exists (run %q) but %s; start it again with the same ID: %w",
			existing.InstanceID, existing.ExecutionID, what, cause)
	}
	h, herr := c.b.ReadHistory(ctx, existing.InstanceID, existing.ExecutionID)
	if herr != nil {
		return unsure("checking whether its start is stored failed", herr)
	}
	if len(h.Commits) > 0 {
		return err
	}
	// A run that follows a continue-as-new is started by the worker with
	// the arguments the workflow passed on; its recovery republishes it.
	if n := len(existing.Runs); n > 0 {
		if existing.ExecutionID == streams.RetriedRunID(existing.Runs[n-1]) {
			return err // a retry: its start is a schedule the worker published
		}
		final, _, ferr := c.finalEvent(ctx, existing.InstanceID, existing.Runs[n-1])
		if ferr != nil {
			return unsure("checking whether its start is stored failed", ferr)
		}
		if final == nil || final.Kind == history.WorkflowContinuedAsNew {
			return err
		}
	}
	heal := *start
	heal.ExecutionID = existing.ExecutionID
	heal.InboxID = streams.StartInboxID(existing.ExecutionID)
	heal.Queue = existing.Queue
	heal.Time = existing.CreatedAt
	if heal.Run != nil || !existing.StartAt.IsZero() {
		// This call's options, fixed as the lost start's were; a delayed
		// start keeps the time the record says.
		var given history.RunOptions
		if heal.Run != nil {
			given = history.RunOptions{ExecutionTimeout: heal.Run.ExecutionTimeout, RunTimeout: heal.Run.RunTimeout, Retry: heal.Run.Retry}
		}
		if !existing.StartAt.IsZero() {
			given.StartDelay = existing.StartAt.Sub(existing.CreatedAt)
		}
		heal.Run = runopts.First(&given, heal.Time)
	}
	if perr := c.b.PublishStartAt(ctx, existing.Queue, existing.InstanceID, &heal, heal.StartTime()); perr != nil {
		return unsure("its history is empty and republishing its start failed", perr)
	}
	c.log.Info("republished the start of an instance whose history is empty",
		logkey.Instance, existing.InstanceID, logkey.Execution, existing.ExecutionID, logkey.Workflow, existing.WorkflowName)
	return err
}

// workflowName returns the name of wf (a workflow function or a name),
// checking a function's shape and the arguments against its parameters.
func workflowName(wf any, args []any) (string, error) {
	switch wf := wf.(type) {
	case string:
		if wf == "" {
			return "", errors.New("empty workflow name")
		}
		return wf, nil
	case nil:
		return "", errors.New("nil workflow: give a workflow function or its registered name")
	}
	if reflect.TypeOf(wf).Kind() != reflect.Func {
		return "", fmt.Errorf("workflow must be a function or its registered name, not a %T", wf)
	}
	name, err := registry.Name(wf)
	if err != nil {
		return "", err
	}
	if err := registry.CheckWorkflow(wf); err != nil {
		return "", fmt.Errorf("workflow %s: %w", name, err)
	}
	t := reflect.TypeOf(wf)
	if err := funcinfo.CheckArgs(t, 1, args); err != nil {
		var count *funcinfo.ArgCountError
		if errors.As(err, &count) {
			// "takes 2 arguments (int, int), got 1" names the parameters.
			return "", fmt.Errorf("workflow %s %w", name, err)
		}
		return "", fmt.Errorf("workflow %s%s: %w", name, parameters(t), err)
	}
	return name, nil
}

// parameters spells the parameters of a workflow function after its
// context, as in "(string, int)".
func parameters(t reflect.Type) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 1; i < t.NumIn(); i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		if t.IsVariadic() && i == t.NumIn()-1 {
			b.WriteString("..." + t.In(i).Elem().String())
			continue
		}
		b.WriteString(t.In(i).String())
	}
	b.WriteByte(')')
	return b.String()
}

// checkEventSize refuses an event too large for the server before anything
// is written, so a start with oversized arguments leaves no registry entry
// behind.
func (c *Client) checkEventSize(e *history.Event, instanceID, queue string) error {
	data, err := history.EncodeEvent(e)
	if err != nil {
		return err
	}
	// The subject holds the namespace, the queue and the instance ID
	// (base64 at worst), and a header holds the message ID.
	overhead := 64 + len(c.b.Namespace()) + 2*len(queue) + 2*len(instanceID) + len(e.InboxID)
	limit := c.b.Conn().MaxPayload()
	if size := int64(len(data) + overhead); size > limit {
		return fmt.Errorf("%w: the %s event is %d bytes, the server accepts %d", streams.ErrPayloadTooLarge, e.Kind, size, limit)
	}
	return nil
}
