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
// the original message.
type Error struct {
	// Type classifies the error (the errType given to NewError).
	Type string
	// Message is the error's text.
	Message string
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
