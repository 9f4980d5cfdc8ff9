package engine

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/coro"
)

var (
	// ErrNondeterministic matches (errors.Is) every *NondeterminismError.
	ErrNondeterministic = errors.New("non-deterministic workflow")
	// ErrRunFinished is returned by Execute for a run that has ended: the
	// events given can be dropped.
	ErrRunFinished = errors.New("engine: the run has finished")
	// ErrClosed is returned by an executor after Close.
	ErrClosed = errors.New("engine: executor closed")
	// ErrBadHistory is wrapped by errors about history that cannot be
	// applied: event IDs out of sequence, events after the run's end, a
	// produced event passed to Execute.
	ErrBadHistory = errors.New("engine: bad history")
	// ErrUnknownWorkflow is wrapped when a run's workflow is not
	// registered (or is not a valid workflow function).
	ErrUnknownWorkflow = errors.New("engine: workflow not registered")
	// ErrUnknownQuery is wrapped when a query has no handler.
	ErrUnknownQuery = errors.New("engine: no handler for query")
)

// BlockedError reports workflow code that blocked outside the workflow API
// (a Go channel, a mutex, time.Sleep, I/O) or spun in a loop for longer than
// Options.BlockedTimeout. The executor is unusable afterwards; the task can
// be retried on a fresh one. The stuck goroutine cannot be stopped: it ends
// when it next reaches the workflow API after Close.
type BlockedError struct {
	// Coroutine names the stuck coroutine ("main", "workflow.Go #2").
	Coroutine string
	// Timeout is how long it held control.
	Timeout time.Duration
	// Stack is the stuck goroutine's stack when the timeout expired.
	Stack string
}

// Error explains what blocked and shows the stuck goroutine's stack.
func (e *BlockedError) Error() string {
	return (&coro.BlockedError{Coroutine: e.Coroutine, Timeout: e.Timeout, Stack: e.Stack}).Error()
}

// NondeterminismError reports workflow code that, replayed against its
// history, did not do what the history says it did. The executor is
// unusable afterwards. It is usually fixed by deploying code compatible with
// running workflows (see workflow.GetVersion), so a worker retries the task
// with backoff instead of failing the workflow.
type NondeterminismError struct {
	// WorkflowName is the workflow's registered name.
	WorkflowName string
	// EventID is the position in the history where code and history
	// disagree.
	EventID int64
	// Expected and ExpectedName are the kind and name (activity,
	// sub-workflow, signal or change ID) of the event the history has
	// there; Expected is history.KindInvalid where the history has none.
	Expected     history.Kind
	ExpectedName string
	// Actual and ActualName describe what the workflow code issued there;
	// Actual is history.KindInvalid where the code issued nothing.
	Actual     history.Kind
	ActualName string
	// Detail explains a disagreement that is not about kinds or names.
	Detail string
}

// Error names the event, what the history has there and what the code did.
func (e *NondeterminismError) Error() string {
	msg := "workflow "
	if e.WorkflowName != "" {
		msg += strconv.Quote(e.WorkflowName) + " "
	}
	msg += fmt.Sprintf("is not deterministic: at event %d the history has %s but the workflow code %s",
		e.EventID, describe(e.Expected, e.ExpectedName, "no event"), issued(e.Actual, e.ActualName))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrNondeterministic) true.
func (e *NondeterminismError) Is(target error) bool { return target == ErrNondeterministic }

func describe(k history.Kind, name, none string) string {
	if k == history.KindInvalid {
		return none
	}
	if name == "" {
		return k.String()
	}
	return k.String() + " " + strconv.Quote(name)
}

func issued(k history.Kind, name string) string {
	if k == history.KindInvalid {
		return "issued nothing there"
	}
	return "issued " + describe(k, name, "")
}
