package workflow

import "github.com/jetflow/jetflow/history"

// The error types jetflow gives failures of its own. Each is the Type of
// the *Error a caller receives (a workflow from an activity or
// sub-workflow, a client from GetWorkflowResult or a query), and of the
// history.Failure stored for it; match them with
//
//	var we *workflow.Error
//	if errors.As(err, &we) && we.Type == workflow.ErrTypeTimeout { ... }
//
// A failure jetflow did not produce has the type the code gave it: the
// errType of NewError, or the name of the error's own Go type (see Error).
// A panic arrives as a *PanicError, not an *Error; ErrTypePanic is its
// stored type. Non-determinism is not a failure: the worker keeps the run
// and retries its task until fixed code replays it.
const (
	// ErrTypeCanceled: work ended by cancellation (a canceled activity,
	// sub-workflow or run). The *Error matches Canceled with errors.Is.
	// (history.Event.RunFailure gives it to a canceled run's end.)
	ErrTypeCanceled = history.FailureTypeCanceled

	// ErrTypeTerminated: a run ended by TerminateWorkflowInstance, as its
	// parent and GetWorkflowResult see it (history.Event.RunFailure).
	ErrTypeTerminated = history.FailureTypeTerminated

	// ErrTypePanic: user code panicked (engine for workflows, worker and
	// tester for activities). Callers get a *PanicError with the stack.
	ErrTypePanic = "PanicError"

	// ErrTypeTimeout: an activity attempt exceeded StartToClose, or the
	// activity its ScheduleToClose (worker and tester).
	ErrTypeTimeout = "Timeout"

	// ErrTypeInstanceAlreadyExists: a sub-workflow could not start because
	// its instance ID is taken (worker and tester). The *Error matches
	// ErrInstanceAlreadyExists with errors.Is.
	ErrTypeInstanceAlreadyExists = "InstanceAlreadyExists"

	// ErrTypeInstanceNotFound: the target of SignalWorkflow does not exist
	// or has finished (worker and tester). The *Error matches
	// ErrInstanceNotFound with errors.Is.
	ErrTypeInstanceNotFound = "InstanceNotFound"

	// ErrTypeInvalidInstanceID: a sub-workflow's instance ID cannot be used
	// as one (worker).
	ErrTypeInvalidInstanceID = "InvalidInstanceID"

	// ErrTypeInvalidQueue: an activity's or sub-workflow's queue name
	// cannot be used as one (worker).
	ErrTypeInvalidQueue = "InvalidQueue"

	// ErrTypeArgument: a run's start arguments do not fit the workflow's
	// parameters (engine, and tester for sub-workflows).
	ErrTypeArgument = "ArgumentError"

	// ErrTypeHistoryLimit: a run's history outgrew the worker's
	// MaxHistoryLength (engine).
	ErrTypeHistoryLimit = "HistoryLimitExceeded"

	// ErrTypePayloadTooLarge: a run's commit (a result, arguments or an
	// error) or an activity's result is larger than the server accepts
	// (worker).
	ErrTypePayloadTooLarge = "PayloadTooLarge"

	// ErrTypeUnknownWorkflow: the worker that took a run's task, or a
	// query, has no workflow of that name registered (worker).
	ErrTypeUnknownWorkflow = "UnknownWorkflow"

	// ErrTypeUnknownActivity: the worker that took an activity task has no
	// activity of that name registered (worker).
	ErrTypeUnknownActivity = "UnknownActivity"

	// ErrTypeNotStarted: a query reached a run whose start has not been
	// processed yet (worker).
	ErrTypeNotStarted = "NotStarted"

	// ErrTypeBadQuery: a query request that does not decode (streams).
	ErrTypeBadQuery = history.FailureTypeBadQuery
)
