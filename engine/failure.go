package engine

import (
	"errors"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// FailureFromError turns an error into its stored form, keeping what
// ErrorFromFailure needs to rebuild an equivalent error: the type of a
// *workflow.Error, the value and stack of a *workflow.PanicError,
// cancellation, the instance sentinels, and the permanent mark of
// workflow.NewPermanentError. The message is err.Error(). Nil gives nil.
func FailureFromError(err error) *history.Failure {
	if err == nil {
		return nil
	}
	f := &history.Failure{Message: err.Error()}
	var perm *wfenv.PermanentError
	f.NonRetryable = errors.As(err, &perm)
	var p *workflow.PanicError
	var we *workflow.Error
	switch {
	case errors.As(err, &p):
		f.Type, f.Message, f.Stack = workflow.ErrTypePanic, p.Value, p.Stack
	case errors.As(err, &we):
		f.Type = we.Type
	case errors.Is(err, workflow.Canceled):
		f.Type = workflow.ErrTypeCanceled
	case errors.Is(err, workflow.ErrInstanceAlreadyExists):
		f.Type = workflow.ErrTypeInstanceAlreadyExists
	case errors.Is(err, workflow.ErrInstanceNotFound):
		f.Type = workflow.ErrTypeInstanceNotFound
	}
	return f
}

// ErrorFromFailure rebuilds an error from its stored form: a
// *workflow.PanicError for a panic, otherwise a *workflow.Error with the
// failure's type and message (which matches workflow.Canceled,
// workflow.ErrInstanceAlreadyExists or workflow.ErrInstanceNotFound with
// errors.Is when its type says so), marked permanent if the failure is
// non-retryable. Nil gives nil.
func ErrorFromFailure(f *history.Failure) error {
	if f == nil {
		return nil
	}
	var err error
	if f.Type == workflow.ErrTypePanic {
		err = &workflow.PanicError{Value: f.Message, Stack: f.Stack}
	} else {
		err = &workflow.Error{Type: f.Type, Message: f.Message}
	}
	if f.NonRetryable {
		err = workflow.NewPermanentError(err)
	}
	return err
}

// IsPermanent reports whether err was marked with
// workflow.NewPermanentError (and must not be retried).
func IsPermanent(err error) bool {
	var perm *wfenv.PermanentError
	return errors.As(err, &perm)
}
