package engine

import (
	"fmt"
	"slices"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
)

// Query answers the query name with the handler the workflow registered
// (workflow.SetQueryHandler), decoding args into the handler's parameters
// and encoding its result. It reads the run's current state without changing
// it: no workflow code runs and no event is produced. A handler that tries
// to change state, or panics, gets an error. An executor that failed (a
// non-determinism, blocked code) answers with its error.
func (e *Executor) Query(name string, args [][]byte) (result []byte, err error) {
	if err := e.usable(); err != nil {
		return nil, err
	}
	h, ok := e.queries[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (the workflow has handlers for %q)", ErrUnknownQuery, name, e.queryNames())
	}
	in, err := call.DecodeArgsOf(e.conv, h.Type(), 0, args)
	if err != nil {
		return nil, fmt.Errorf("engine: query %q: %w", name, err)
	}
	e.inQuery = true
	defer func() {
		e.inQuery = false
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("engine: query %q: handler panicked: %v", name, r)
		}
	}()
	out := h.Call(in)
	if errV := out[1]; !errV.IsNil() {
		return nil, errV.Interface().(error)
	}
	b, err := call.EncodeResult(e.conv, out)
	if err != nil {
		return nil, fmt.Errorf("engine: query %q: %w", name, err)
	}
	return b, nil
}

func (e *Executor) queryNames() []string {
	names := make([]string, 0, len(e.queries))
	for n := range e.queries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PendingCommand is a command of the run still waiting for its answer.
type PendingCommand struct {
	// Event is the event that scheduled it: ActivityScheduled,
	// TimerScheduled (FireAt says when it is due), SubWorkflowScheduled or
	// SignalWorkflowScheduled. Event.ID is the ScheduleID its answer
	// carries.
	Event history.Event
	// CancelRequested is set for an activity or sub-workflow whose
	// cancellation was requested and whose future waits for its end.
	CancelRequested bool
}

// Pending lists the commands waiting for an answer, oldest first: what a
// worker must make happen (after a restart, say) and what a test driver
// can choose to answer next.
func (e *Executor) Pending() []PendingCommand {
	out := make([]PendingCommand, 0, len(e.pending))
	for _, c := range e.pending {
		out = append(out, PendingCommand{Event: c.event, CancelRequested: c.cancelRequested})
	}
	slices.SortFunc(out, func(a, b PendingCommand) int { return int(a.Event.ID - b.Event.ID) })
	return out
}

// Command returns the event that scheduled the pending command with the
// given ID (an ActivityScheduled, TimerScheduled, …), if it still waits for
// its answer: what a worker's telemetry needs to time a timer span.
func (e *Executor) Command(id int64) (history.Event, bool) {
	c, ok := e.pending[id]
	if !ok {
		return history.Event{}, false
	}
	return c.event, true
}
