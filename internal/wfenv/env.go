// Package wfenv is the seam between package workflow (the API workflow code
// calls) and package engine (which runs it): workflow calls the Env bound to
// a Context, engine implements it. Keeping the interface here lets workflow
// stay free of engine machinery while engine imports workflow for its types.
package wfenv

import (
	"log/slog"
	"reflect"
	"time"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/coro"
)

// Callback receives the answer to a command: its encoded result, or an
// error already rebuilt from the stored failure. It is called once, from the
// executor or from workflow code, never concurrently.
type Callback func(result []byte, err error)

// Env is one run's view of the executor. Every method is called either from
// a running coroutine or from the goroutine that drives the executor, never
// concurrently.
type Env interface {
	// Scheduler is the run's coroutine scheduler (Block for waiting).
	Scheduler() *coro.Scheduler
	// Go starts fn as a new workflow coroutine.
	Go(fn func())

	// Now is the run's deterministic time.
	Now() time.Time
	// Replaying reports whether the event being processed comes from
	// committed history.
	Replaying() bool
	// Logger is the run's logger (silent while replaying).
	Logger() *slog.Logger
	// Info describes the run.
	Info() Info

	// Encode and Decode use the run's converter.
	Encode(v any) ([]byte, error)
	Decode(data []byte, v any) error

	// ScheduleActivity, ScheduleTimer, ScheduleSubWorkflow and
	// SignalWorkflow issue a command and return its ID; done is called with
	// its answer.
	ScheduleActivity(req ActivityRequest, done Callback) int64
	ScheduleTimer(d time.Duration, done Callback) int64
	ScheduleSubWorkflow(req SubWorkflowRequest, done Callback) int64
	SignalWorkflow(instanceID, name string, arg []byte, done Callback) int64
	// CancelCommand cancels a pending command (the context it was issued
	// under was canceled). A command already answered is left alone.
	CancelCommand(id int64)
	// SideEffect runs fn and records its result, or returns the recorded
	// result without running fn when replaying.
	SideEffect(fn func() ([]byte, error)) ([]byte, error)
	// ExecuteLocalActivity queues a local activity call: the executor
	// runs it (through its runner) once the run's coroutines wait, inside
	// the task, and records its outcome; replaying, it takes the recorded
	// outcome. done gets the outcome, the last attempt run and, for a
	// failure to retry after a timer, the backoff. It returns the call's
	// sequence number.
	ExecuteLocalActivity(req LocalActivityRequest, done LocalActivityCallback) int64
	// CancelLocalActivity stops a queued or running local activity call:
	// its done gets workflow.Canceled and nothing is recorded. A call
	// already answered is left alone.
	CancelLocalActivity(seq int64)
	// UpsertSearchAttributes records the pairs (already validated) to set
	// on the instance's search attributes; replaying, it checks the
	// history has them recorded here.
	UpsertSearchAttributes(attrs map[string]string) error
	// GetVersion returns the version of a change for this run.
	GetVersion(changeID string, minSupported, maxSupported int) int
	// SignalChannel returns the channel registered for a signal name,
	// creating it with create the first time; sink is then fed every
	// signal of that name, including those received before.
	SignalChannel(name string, create func() (ch any, sink func(payload []byte))) any
	// SetQueryHandler registers handler (already validated) for name.
	SetQueryHandler(name string, handler reflect.Value)
	// Header runs the run's context propagators on ctx (a
	// workflow.Context) for work started under it.
	Header(ctx any) (map[string][]byte, error)
	// WorkflowFunc is the type of the running workflow function (nil for
	// a catch-all workflow).
	WorkflowFunc() reflect.Type
	// SetUpdateHandler registers handler (already validated) for the
	// updates named name, with validator (the zero Value: none).
	SetUpdateHandler(name string, handler, validator reflect.Value)
	// UpdatesRunning is how many accepted updates' handlers are running.
	UpdatesRunning() int
}

// Info describes a run for workflow.GetInfo.
type Info struct {
	InstanceID           string
	ExecutionID          string
	ContinuedExecutionID string
	WorkflowName         string
	Queue                string
	HistoryLength        int64
	Parent               *history.Parent
	Attempt              int
	Memo                 map[string][]byte
}

// ActivityRequest is an activity command as workflow code issued it.
type ActivityRequest struct {
	Header  map[string][]byte
	Name    string
	Queue   string
	Args    [][]byte
	Options history.ActivityOptions
}

// LocalActivityRequest is a local activity call as workflow code issued it.
type LocalActivityRequest struct {
	// Name is the activity's name; Fn the function given, nil when the
	// call named a registered activity.
	Name string
	Fn   any
	Args [][]byte
	// Header carries context values (ContextPropagator) to the function.
	Header map[string][]byte
	// Options hold the retry policy (defaults filled in), StartToClose
	// and ScheduleToClose.
	Options history.ActivityOptions
	// Attempt is the first attempt to run (after a timer: the next one);
	// ScheduledAt the workflow time of the call's first attempt, which
	// ScheduleToClose and RetryTimeout count from.
	Attempt     int
	ScheduledAt time.Time
}

// LocalActivityCallback receives a local activity's outcome: the result,
// or the error with, when retryAfter is above zero, the wait before the
// next attempt (a failure that is not final). attempt is the last attempt
// run.
type LocalActivityCallback func(result []byte, err error, attempt int, retryAfter time.Duration)

// SubWorkflowRequest is a sub-workflow command as workflow code issued it.
type SubWorkflowRequest struct {
	Run                 *history.RunOptions
	Memo                map[string][]byte
	Header              map[string][]byte
	Name                string
	InstanceID          string
	Queue               string
	Args                [][]byte
	WaitForCancellation bool
	ParentClose         history.ParentClosePolicy
}

// NewRootContext builds the root workflow.Context of a run bound to env and
// returns it with the function that cancels it. Package workflow sets it in
// its init, so it is set whenever package workflow is linked in.
var NewRootContext func(env Env) (ctx any, cancel func())

// ContinueAsNewError is what workflow.ContinueAsNew returns: the workflow
// returns it to end its run and start a new one with Args.
type ContinueAsNewError struct {
	Args [][]byte
}

// Error says the run continued as new.
func (e *ContinueAsNewError) Error() string { return "workflow continued as new" }

// PermanentError marks an error that must never be retried
// (workflow.NewPermanentError).
type PermanentError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error, so errors.Is/As see through the mark.
func (e *PermanentError) Unwrap() error { return e.Err }
