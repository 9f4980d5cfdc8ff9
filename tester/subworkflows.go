package tester

import (
	"fmt"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/runopts"
	"github.com/jetflow/jetflow/workflow"
)

// signalMethod is the method name of signal expectations on sigMock.
const signalMethod = "SignalWorkflow"

// startChild acts on a SubWorkflowScheduled event of r: a mock answers at
// once (or gives a function to run as the child); a registered workflow
// runs as a child run with its own executor.
func (e *env) startChild(r *run, ev history.Event) {
	name := ev.Name
	if hasExpectations(e.wfMock, name) {
		var ctx workflow.Context // there is no child run, so no context for it
		args, err := e.decodeForMock(e.wfMock, name, e.wfTypes[name], ctx, ev.Args)
		if err != nil {
			// As a child run whose arguments do not fit ends.
			e.answerChild(r, ev.ID, nil, &history.Failure{
				Type: workflow.ErrTypeArgument, Message: fmt.Sprintf("workflow %s: %v", name, err), NonRetryable: true,
			})
			return
		}
		ret, userPanic, unexpected := callMock(e.wfMock, name, args)
		if unexpected != "" {
			e.fail(fmt.Errorf("%w: sub-workflow %s%s, started by %v, matches no OnSubWorkflow expectation\n\n%s",
				ErrUnexpectedCall, name, formatCall(args), r, unexpected))
			return
		}
		if userPanic != nil {
			e.answerChild(r, ev.ID, nil, engine.FailureFromError(userPanic))
			return
		}
		out, err := e.mockOutcome("sub-workflow", name, e.wfTypes[name], ret, registry.CheckWorkflow)
		switch {
		case err != nil:
			e.fail(err)
		case out.fn != nil:
			e.spawnChild(r, ev, engine.Workflows{name: out.fn})
		default:
			e.answerChild(r, ev.ID, out.result, engine.FailureFromError(out.err))
		}
		return
	}
	if _, ok := e.reg.Workflow(name); ok {
		e.spawnChild(r, ev, e)
		return
	}
	args := e.decodeLoose(e.wfTypes[name], ev.Args)
	e.fail(fmt.Errorf("%w: %v started sub-workflow %s%s, which has no mock (OnSubWorkflow) and is not registered (RegisterWorkflow)",
		ErrUnexpectedCall, r, name, formatArgs(args)))
}

// answerChild delivers the outcome of sub-workflow call id to r.
func (e *env) answerChild(r *run, id int64, result []byte, f *history.Failure) {
	ev := history.Event{Kind: history.SubWorkflowCompleted, ScheduleID: id, Result: result}
	if f != nil {
		ev = history.Event{Kind: history.SubWorkflowFailed, ScheduleID: id, Failure: f}
	}
	e.deliver(r, ev)
}

// spawnChild starts the child run of a SubWorkflowScheduled event, unless
// its instance ID is taken by a running instance (which fails the call, as
// in the worker).
func (e *env) spawnChild(r *run, ev history.Event, reg engine.Registry) {
	if cur := e.current[ev.InstanceID]; cur != nil && cur.final == nil {
		e.answerChild(r, ev.ID, nil, &history.Failure{
			Type:         workflow.ErrTypeInstanceAlreadyExists,
			Message:      fmt.Sprintf("sub-workflow instance %q already exists and is running", ev.InstanceID),
			NonRetryable: true,
		})
		return
	}
	r.children[ev.ID] = e.startRun(ev.InstanceID, ev.Name, reg, history.Event{
		Queue:  ev.Queue,
		Args:   ev.Args,
		Run:    runopts.First(ev.Run, e.now),
		Memo:   ev.Memo,
		Header: ev.Header,
		Parent: &history.Parent{
			InstanceID:  r.instanceID,
			ExecutionID: r.executionID,
			Queue:       r.started.Queue,
			ScheduleID:  ev.ID,
		},
	})
}

// cancelChild acts on a SubWorkflowCancelRequested event of r: the child's
// current run (it may have continued as new) gets a cancel request.
func (e *env) cancelChild(r *run, ev history.Event) {
	e.endChild(r, ev.ScheduleID, history.Event{Kind: history.CancelRequested})
}

// endChild puts req (a cancel or terminate request) into the current run
// of the child r started with its event scheduleID, as the worker does,
// unless the child has ended or its instance moved on to another parent.
func (e *env) endChild(r *run, scheduleID int64, req history.Event) {
	child := r.children[scheduleID]
	if child == nil {
		return // answered by a mock
	}
	cur := e.current[child.instanceID]
	if cur == nil || cur.final != nil {
		return
	}
	if p := cur.started.Parent; p == nil || p.InstanceID != r.instanceID || p.ExecutionID != r.executionID || p.ScheduleID != scheduleID {
		return // the instance moved on to another parent
	}
	e.deliver(cur, req)
}

// closeChildren applies the parent-close policies of the sub-workflows r
// still has running when it ends, as the worker does.
func (e *env) closeChildren(r *run, final history.Event) {
	if r.ex == nil {
		return
	}
	for _, p := range r.ex.Pending() {
		c := p.Event
		if c.Kind != history.SubWorkflowScheduled {
			continue
		}
		switch c.ParentClose {
		case history.ParentCloseTerminate:
			e.endChild(r, c.ID, history.Event{Kind: history.TerminateRequested,
				Reason: fmt.Sprintf("its parent %q ended %s (parent-close policy: terminate)", r.instanceID, final.Kind)})
		case history.ParentCloseCancel:
			e.endChild(r, c.ID, history.Event{Kind: history.CancelRequested})
		}
	}
}

// signalOther acts on a SignalWorkflowScheduled event of r: a signal
// expectation (OnSignalWorkflow) for the target instance answers it;
// otherwise a running instance of the test receives it; otherwise the
// instance does not exist, as the worker says.
func (e *env) signalOther(r *run, ev history.Event) {
	var payload []byte
	if len(ev.Args) > 0 {
		payload = ev.Args[0]
	}
	ack := history.Event{Kind: history.SignalDelivered, ScheduleID: ev.ID}
	switch target := e.current[ev.InstanceID]; {
	case e.hasSignalExpectations(ev.InstanceID):
		args := e.decodeSignal(ev.InstanceID, ev.Name, payload)
		ret, userPanic, unexpected := callMock(e.sigMock, signalMethod, args)
		if unexpected != "" {
			e.fail(fmt.Errorf("%w: signal %q to instance %q with %#v, sent by %v, matches no OnSignalWorkflow expectation\n\n%s",
				ErrUnexpectedCall, ev.Name, ev.InstanceID, args[2], r, unexpected))
			return
		}
		var err error
		switch {
		case userPanic != nil:
			err = userPanic
		case len(ret) > 1:
			e.fail(fmt.Errorf("%w: the mock of signal %q to instance %q: Return needs at most one value (an error or nil), got %d",
				ErrBadSetup, ev.Name, ev.InstanceID, len(ret)))
			return
		case len(ret) == 1 && ret[0] != nil:
			var ok bool
			if err, ok = ret[0].(error); !ok {
				e.fail(fmt.Errorf("%w: the mock of signal %q to instance %q: Return was given %T, not an error",
					ErrBadSetup, ev.Name, ev.InstanceID, ret[0]))
				return
			}
		}
		ack.Failure = engine.FailureFromError(err)
	case target != nil && target.final == nil:
		e.deliver(target, history.Event{Kind: history.SignalReceived, Name: ev.Name, Args: [][]byte{payload}})
	case target != nil:
		ack.Failure = &history.Failure{Type: workflow.ErrTypeInstanceNotFound,
			Message: fmt.Sprintf("instance %q has finished", ev.InstanceID), NonRetryable: true}
	default:
		ack.Failure = &history.Failure{Type: workflow.ErrTypeInstanceNotFound,
			Message: fmt.Sprintf("instance %q not found", ev.InstanceID), NonRetryable: true}
	}
	e.deliver(r, ack)
}

// hasSignalExpectations reports whether an OnSignalWorkflow expectation
// names instance inst.
func (e *env) hasSignalExpectations(inst string) bool {
	for _, c := range e.sigMock.ExpectedCalls {
		if c.Method != signalMethod || len(c.Arguments) != 3 {
			continue
		}
		if _, n := c.Arguments[:1].Diff([]any{inst}); n == 0 {
			return true
		}
	}
	return false
}

// decodeSignal builds the arguments of a signal mock call: the instance,
// the signal name and the payload decoded into the type an expectation for
// them expects.
func (e *env) decodeSignal(inst, name string, payload []byte) []any {
	var fallback []any
	for _, c := range e.sigMock.ExpectedCalls {
		if c.Method != signalMethod || len(c.Arguments) != 3 {
			continue
		}
		if _, n := c.Arguments[:2].Diff([]any{inst, name}); n != 0 {
			continue
		}
		vals, ok := e.decodeLike(c.Arguments[2:], [][]byte{payload})
		if !ok {
			continue
		}
		args := []any{inst, name, vals[0]}
		if fallback == nil {
			fallback = args
		}
		if callMatches(c, signalMethod, args) {
			return args
		}
	}
	if fallback != nil {
		return fallback
	}
	return []any{inst, name, e.decodeAny(payload)}
}
