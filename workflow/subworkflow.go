package workflow

import (
	"fmt"
	"reflect"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/wfenv"
)

// SubWorkflowOptions are the options of a sub-workflow.
type SubWorkflowOptions struct {
	// InstanceID is the child's instance ID; empty means one derived from
	// the parent run and the call, the same on every replay.
	InstanceID string
	// Queue is the child's queue; empty means the parent's queue.
	Queue string
	// WaitForCancellation makes the child's future, when its context is
	// canceled, wait for the child to end instead of resolving at once
	// with Canceled. The child is asked to cancel either way.
	WaitForCancellation bool
	// ParentClosePolicy says what happens to the child if this run ends
	// (completes, fails, is canceled or terminated; not a continue-as-new)
	// while the child still runs: ParentCloseTerminate (the zero value,
	// the default, as in Temporal), ParentCloseCancel or
	// ParentCloseAbandon (the child runs on).
	ParentClosePolicy ParentClosePolicy
	// RetryOptions, when set, starts the child again (a new run of the
	// same instance, with the same arguments, after the policy's backoff)
	// when a run fails; nil, the default as in Temporal, means one run.
	// Zero fields take the defaults of RetryOptions (no limit on
	// attempts: bound it with MaxAttempts, RetryTimeout or
	// ExecutionTimeout). A run canceled, terminated, failed with a
	// permanent error (NewPermanentError), or ended by ExecutionTimeout
	// is not retried; one ended by RunTimeout is.
	RetryOptions *RetryOptions
	// ExecutionTimeout bounds the child's runs together, across
	// continue-as-new and retries (0 = no limit); RunTimeout bounds each
	// run (0 = no limit). A run past either fails with a Timeout error.
	ExecutionTimeout time.Duration
	RunTimeout       time.Duration
	// Memo is the child's memo (see client.WorkflowInstanceOptions.Memo):
	// non-indexed values shown by describe, readable in the child with
	// GetMemoValue.
	Memo map[string]any
}

// runOptions is the history's form of the child's timeouts and retry
// policy; nil when none is set.
func (o SubWorkflowOptions) runOptions() *history.RunOptions {
	ro := &history.RunOptions{ExecutionTimeout: o.ExecutionTimeout, RunTimeout: o.RunTimeout}
	if o.RetryOptions != nil {
		ro.Retry = o.RetryOptions.WithDefaults().Stored()
	}
	if ro.Empty() {
		return nil
	}
	return ro
}

// isZero reports whether o is the zero SubWorkflowOptions.
func (o SubWorkflowOptions) isZero() bool {
	return o.InstanceID == "" && o.Queue == "" && !o.WaitForCancellation && o.ParentClosePolicy == 0 &&
		o.RetryOptions == nil && o.ExecutionTimeout == 0 && o.RunTimeout == 0 && len(o.Memo) == 0
}

// ParentClosePolicy is what happens to a sub-workflow still running when
// its parent's run ends.
type ParentClosePolicy = history.ParentClosePolicy

// The parent-close policies.
const (
	// ParentCloseTerminate terminates the child (the default).
	ParentCloseTerminate = history.ParentCloseTerminate
	// ParentCloseCancel asks the child to cancel: its code sees
	// workflow.Canceled and may clean up.
	ParentCloseCancel = history.ParentCloseCancel
	// ParentCloseAbandon leaves the child running.
	ParentCloseAbandon = history.ParentCloseAbandon
)

var contextType = reflect.TypeFor[Context]()

// CreateSubWorkflowInstance starts a child workflow and returns the future
// of its result. wf is a workflow function or its registered name; for a
// function, args and T are checked against its signature. If the instance
// ID is taken the future fails with an error matching
// ErrInstanceAlreadyExists. Canceling ctx cancels the child. Zero opts
// (SubWorkflowOptions{}) mean the options ctx carries
// (WithSubWorkflowOptions), if any.
func CreateSubWorkflowInstance[T any](ctx Context, opts SubWorkflowOptions, wf any, args ...any) Future[T] {
	env := envOf(ctx)
	opts = subWorkflowOptionsFor(ctx, opts)
	f := newFuture[T](env.Scheduler())
	var zero T
	name, err := callableName(wf, args, reflect.TypeFor[T](), checkWorkflow)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.CreateSubWorkflowInstance: %w", err))
		return f
	}
	if ctx.Err() != nil {
		f.settle(zero, Canceled)
		return f
	}
	payloads, err := call.EncodeArgs(env, args)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.CreateSubWorkflowInstance(%s): %w", name, err))
		return f
	}
	memo, err := encodeMemo(env, opts.Memo)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.CreateSubWorkflowInstance(%s): %w", name, err))
		return f
	}
	hdr, err := header(ctx)
	if err != nil {
		f.settle(zero, fmt.Errorf("workflow.CreateSubWorkflowInstance(%s): context propagation: %w", name, err))
		return f
	}
	what := "sub-workflow " + name
	var stop func()
	id := env.ScheduleSubWorkflow(wfenv.SubWorkflowRequest{
		Name:                name,
		InstanceID:          opts.InstanceID,
		Queue:               opts.Queue,
		Args:                payloads,
		WaitForCancellation: opts.WaitForCancellation,
		ParentClose:         opts.ParentClosePolicy,
		Run:                 opts.runOptions(),
		Memo:                memo,
		Header:              hdr,
	}, func(result []byte, err error) {
		if stop != nil {
			stop()
		}
		settleDecoded(env, f, what, result, err)
	})
	if !f.settled {
		stop = ctx.impl().onCancel(func() { env.CancelCommand(id) })
	}
	return f
}

func checkWorkflow(t reflect.Type) error { return funcinfo.CheckWorkflow(t, contextType) }
