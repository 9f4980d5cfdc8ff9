package engine

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/jetflow/jetflow/workflow"
)

// An update goes through a run like this: an UpdateRequested event arrives
// from the inbox; Execute runs the validator (read-only, as a query);
// a rejection records nothing and becomes an UpdateAnswer; an accepted
// update is recorded as UpdateAccepted (an inbound event, so replay starts
// its handler again without validating) and its handler runs as a
// coroutine; the handler's return is recorded as UpdateCompleted (a
// command, checked on replay like any other). A run applies each update ID
// once: a request for an update it already accepted is not run again.

// updateHandler is what workflow.SetUpdateHandler registered.
type updateHandler struct {
	handler   reflect.Value
	validator reflect.Value // the zero Value: none
}

// updateState is an update the run accepted.
type updateState struct {
	name    string
	done    bool
	result  []byte
	failure *history.Failure
}

// UpdateAnswer is an answer to an update's caller that the history does not
// carry: a rejection, the outcome of an update requested again after it
// completed, or the news that the run ended before the update could
// complete. (A completion is answered from its UpdateCompleted event.)
type UpdateAnswer struct {
	UpdateID string
	// Rejected is the reason of a rejection.
	Rejected string
	// Finished says the run ended before the update completed.
	Finished bool
	// Completed says Result or Failure hold the update's outcome.
	Completed bool
	Result    []byte
	Failure   *history.Failure
}

// TakeUpdateAnswers returns the answers the last Execute (or
// LateUpdateAnswers) produced and forgets them. The worker sends them once
// the task's commit is stored.
func (e *Executor) TakeUpdateAnswers() []UpdateAnswer {
	a := e.answers
	e.answers = nil
	return a
}

// LateUpdateAnswers answers the update requests among events that reached
// the run after it ended (Execute returned ErrRunFinished): the outcome of
// an update the run completed, else the news that the run has finished.
func (e *Executor) LateUpdateAnswers(events []history.Event) []UpdateAnswer {
	for i := range events {
		e.answerLate(&events[i])
	}
	return e.TakeUpdateAnswers()
}

func (e *Executor) answerLate(ev *history.Event) {
	if ev.Kind != history.UpdateRequested {
		return
	}
	if u := e.updates[ev.UpdateID]; u != nil && u.done {
		e.answers = append(e.answers, u.answer(ev.UpdateID))
		return
	}
	e.answers = append(e.answers, UpdateAnswer{UpdateID: ev.UpdateID, Finished: true})
}

func (u *updateState) answer(id string) UpdateAnswer {
	return UpdateAnswer{UpdateID: id, Completed: true, Result: u.result, Failure: u.failure}
}

// UpdatesRunning lists the names and IDs of the accepted updates whose
// handlers have not returned, sorted by ID.
func (e *Executor) UpdatesRunning() []history.Event {
	var out []history.Event
	for id, u := range e.updates {
		if !u.done {
			out = append(out, history.Event{Kind: history.UpdateAccepted, Name: u.name, UpdateID: id})
		}
	}
	slices.SortFunc(out, func(a, b history.Event) int {
		if a.UpdateID < b.UpdateID {
			return -1
		}
		if a.UpdateID > b.UpdateID {
			return 1
		}
		return 0
	})
	return out
}

// requestUpdate validates an update request: a rejection is answered and
// recorded nowhere; an accepted update is applied as UpdateAccepted.
func (e *Executor) requestUpdate(ev history.Event) error {
	if e.replaying {
		return e.fail(fmt.Errorf("%w: event %d is an UpdateRequested, which a history never holds", ErrBadHistory, ev.ID))
	}
	if ev.ExecutionID != "" && e.opts.ExecutionID != "" && ev.ExecutionID != e.opts.ExecutionID {
		e.answers = append(e.answers, UpdateAnswer{UpdateID: ev.UpdateID, Finished: true})
		return nil
	}
	reject := func(format string, args ...any) error {
		e.answers = append(e.answers, UpdateAnswer{UpdateID: ev.UpdateID, Rejected: fmt.Sprintf(format, args...)})
		return nil
	}
	if ev.UpdateID == "" {
		return reject("the update has no ID")
	}
	if u := e.updates[ev.UpdateID]; u != nil {
		// Applied already: it is not run again. A caller waiting for a
		// running one gets the answer when it completes.
		if u.done {
			e.answers = append(e.answers, u.answer(ev.UpdateID))
		}
		return nil
	}
	h, ok := e.updateHandlers[ev.Name]
	if !ok {
		return reject("the workflow has no handler for update %q (it has handlers for %q)", ev.Name, e.updateNames())
	}
	args, err := call.DecodeArgsOf(e.conv, h.handler.Type(), 1, ev.Args)
	if errors.Is(err, sentinel.PayloadUnavailable) {
		// This worker's fault (a key it lacks), not the update's: the
		// task is retried rather than the update rejected.
		return e.fail(fmt.Errorf("update %q: %w", ev.Name, err))
	}
	if err != nil {
		return reject("update %q: %v", ev.Name, err)
	}
	if h.validator.IsValid() {
		if err := e.validate(ev.Name, h.validator, args); err != nil {
			return reject("%v", err)
		}
	}
	ev.Kind = history.UpdateAccepted
	return e.apply(ev)
}

// validate runs an update's validator, read-only (as a query handler).
func (e *Executor) validate(name string, v reflect.Value, args []reflect.Value) (err error) {
	e.inQuery = true
	defer func() {
		e.inQuery = false
		if r := recover(); r != nil {
			err = fmt.Errorf("update %q: the validator panicked: %v", name, r)
		}
	}()
	out := v.Call(append([]reflect.Value{reflect.ValueOf(e.rootCtx)}, args...))
	if !out[0].IsNil() {
		return out[0].Interface().(error)
	}
	return nil
}

func (e *Executor) updateNames() []string {
	names := make([]string, 0, len(e.updateHandlers))
	for n := range e.updateHandlers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// startUpdate starts the handler of an accepted update (ev, applied) as a
// coroutine; it records UpdateCompleted when the handler returns.
func (e *Executor) startUpdate(ev *history.Event) error {
	h, ok := e.updateHandlers[ev.Name]
	if !ok {
		detail := fmt.Sprintf("the history accepted update %q (ID %q) here, but the workflow has no handler for it (it has handlers for %q)",
			ev.Name, ev.UpdateID, e.updateNames())
		return e.fail(&NondeterminismError{WorkflowName: e.workflowName, EventID: ev.ID,
			Expected: ev.Kind, ExpectedName: eventName(ev), Detail: detail})
	}
	u := &updateState{name: ev.Name}
	e.updates[ev.UpdateID] = u
	completion := history.Event{Kind: history.UpdateCompleted, Name: ev.Name, UpdateID: ev.UpdateID, ScheduleID: ev.ID}
	args, err := call.DecodeArgsOf(e.conv, h.handler.Type(), 1, ev.Args)
	if errors.Is(err, sentinel.PayloadUnavailable) {
		return e.fail(fmt.Errorf("update %q: %w", ev.Name, err))
	}
	e.coroutines++
	e.sched.Spawn(fmt.Sprintf("update %s %s", ev.Name, ev.UpdateID), func() {
		var result []byte
		if err == nil {
			result, err = e.runHandler(ev.Name, h.handler, args)
		}
		completion.Result, completion.Failure = result, FailureFromError(err)
		if !e.sched.Enter() {
			return // the run went on without this code (see runEnv.enter)
		}
		defer e.sched.Leave()
		out, ok := e.record(completion)
		if !ok {
			return
		}
		u.done, u.result, u.failure = true, out.Result, out.Failure
	})
	return nil
}

// runHandler calls an update handler; a panic becomes a
// *workflow.PanicError failure of the update (not of the run).
func (e *Executor) runHandler(name string, h reflect.Value, args []reflect.Value) (result []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, &workflow.PanicError{Value: panicMessage(r), Stack: string(debug.Stack())}
		}
	}()
	out := h.Call(append([]reflect.Value{reflect.ValueOf(e.rootCtx)}, args...))
	if err := call.Err(out); err != nil {
		return nil, err
	}
	b, err := call.EncodeResult(e.conv, out)
	if err != nil {
		return nil, fmt.Errorf("update %q: %w", name, err)
	}
	return b, nil
}

// answerUnfinished tells the callers of the updates still running that the
// run ended first.
func (e *Executor) answerUnfinished() {
	if e.replaying {
		return
	}
	for _, u := range e.UpdatesRunning() {
		e.answers = append(e.answers, UpdateAnswer{UpdateID: u.UpdateID, Finished: true})
	}
}

func (r *runEnv) SetUpdateHandler(name string, handler, validator reflect.Value) {
	if !r.enter() {
		return
	}
	defer r.leave()
	if r.inQuery {
		panic("workflow: a query handler or update validator must not register handlers")
	}
	r.updateHandlers[name] = updateHandler{handler: handler, validator: validator}
}

func (r *runEnv) UpdatesRunning() int {
	if !r.enter() {
		return 0
	}
	defer r.leave()
	n := 0
	for _, u := range r.updates {
		if !u.done {
			n++
		}
	}
	return n
}
