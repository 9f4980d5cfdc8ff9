package workflow

import (
	"errors"

	"github.com/jetflow/jetflow/internal/sentinel"
	"github.com/jetflow/jetflow/internal/wfenv"
)

// Canceled is the error of a canceled context and of the work canceled with
// it (errors.Is(err, workflow.Canceled)). A workflow that returns it after
// its cancellation was requested ends as canceled rather than failed.
var Canceled = errors.New("canceled")

// ErrInstanceAlreadyExists matches (errors.Is) the error of a sub-workflow
// that could not start because its instance ID is taken. It is the one
// "already exists" value of jetflow: client.ErrInstanceAlreadyExists and
// streams.ErrInstanceExists are the same value.
var ErrInstanceAlreadyExists = sentinel.InstanceExists

// ErrInstanceNotFound matches (errors.Is) the error of SignalWorkflow when
// the target instance does not exist. It is the one "not found" value of
// jetflow: client.ErrInstanceNotFound and streams.ErrInstanceNotFound are
// the same value.
var ErrInstanceNotFound = sentinel.InstanceNotFound

// Error is an error with a type that travels: returned by an activity or a
// workflow, it reaches the caller with the same Type and Message, so the
// caller can branch on Type. Errors of other types arrive as an *Error with
// the original message and a Type that names them:
//
//   - an *Error anywhere in the chain (errors.As) gives its Type;
//   - else Canceled, ErrInstanceAlreadyExists and ErrInstanceNotFound give
//     ErrTypeCanceled, ErrTypeInstanceAlreadyExists, ErrTypeInstanceNotFound;
//   - else the name of the Go type of the outermost error in the chain
//     that has a type of its own: "CustomError" for a *CustomError or a
//     CustomError, wrapped with fmt.Errorf("...: %w") or not, without the
//     package and the type arguments of a generic type. The standard
//     library's unexported types (errors.New, fmt.Errorf, errors.Join,
//     context errors) are not types of their own: an error made only of
//     those has an empty Type.
//
// The original Go value cannot cross processes: the caller matches the
// type by its name, errors.As(err, &we) && we.Type == "CustomError".
// A panic arrives as a *PanicError instead.
type Error struct {
	// Type classifies the error: the errType given to NewError, one of
	// the ErrType constants, or the name of the error's Go type.
	Type string
	// Message is the error's text.
	Message string
	// Stack is the stack of the failing side, when its error carried one:
	// an *Error's Stack, or what the first error in the chain with a
	// method Stack() string returns. jetflow captures no stack
	// of its own for errors that are returned: where the error was made
	// is known only to the code that made it. Panics keep theirs in
	// PanicError.Stack.
	Stack string
}

// NewError returns an error of type errType that keeps its type across
// activity, workflow and client boundaries.
func NewError(errType, msg string) error {
	return &Error{Type: errType, Message: msg}
}

// Error returns the message.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Message
}

// Is makes an *Error rebuilt from a stored failure match the sentinel of its
// type (Canceled, ErrInstanceAlreadyExists, ErrInstanceNotFound).
func (e *Error) Is(target error) bool {
	switch target {
	case Canceled:
		return e.Type == ErrTypeCanceled
	case ErrInstanceAlreadyExists:
		return e.Type == ErrTypeInstanceAlreadyExists
	case ErrInstanceNotFound:
		return e.Type == ErrTypeInstanceNotFound
	}
	return false
}

// NewPermanentError marks err as permanent: an activity failing with it is
// not retried.
func NewPermanentError(err error) error {
	if err == nil {
		return nil
	}
	return &wfenv.PermanentError{Err: err}
}

// PanicError is the error of a workflow (or activity) that panicked.
type PanicError struct {
	// Value is the panic value, formatted.
	Value string
	// Stack is the stack of the panicking goroutine.
	Stack string
}

// Error returns "panic: " and the panic value; the stack is in Stack.
func (e *PanicError) Error() string { return "panic: " + e.Value }
