package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

// CustomError is a user's own error type, returned as a pointer.
type CustomError struct{ Code int }

func (e *CustomError) Error() string { return fmt.Sprintf("custom failure %d", e.Code) }

// ValueError is a user's own error type, returned as a value.
type ValueError struct{}

func (ValueError) Error() string { return "value failure" }

// lowerError is an unexported type of the user's: its name is kept too.
type lowerError struct{}

func (lowerError) Error() string { return "lower failure" }

// GenericError[T] is named without its type arguments.
type GenericError[T any] struct{ V T }

func (e GenericError[T]) Error() string { return fmt.Sprint("generic ", e.V) }

// StackedError carries the stack of where it was made.
type StackedError struct{ stack string }

func (e *StackedError) Error() string { return "stacked failure" }
func (e *StackedError) Stack() string { return e.stack }

// TestFailureOwnErrorType checks that an error of the user's own Go type
// keeps that type's name in Failure.Type (and so in (*workflow.Error).Type
// on the other side), while the standard library's plain errors leave the
// type empty.
func TestFailureOwnErrorType(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  string
		stack string
	}{
		{"pointer type", &CustomError{Code: 7}, "CustomError", ""},
		{"value type", ValueError{}, "ValueError", ""},
		{"unexported user type", lowerError{}, "lowerError", ""},
		{"generic type", GenericError[int]{V: 1}, "GenericError", ""},
		{"wrapped with fmt", fmt.Errorf("order 42: %w", &CustomError{Code: 9}), "CustomError", ""},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", ValueError{})), "ValueError", ""},
		{"joined", errors.Join(errors.New("first"), &CustomError{}), "CustomError", ""},
		{"permanent", workflow.NewPermanentError(&CustomError{}), "CustomError", ""},
		{"standard library type", &fs.PathError{Op: "open", Path: "/x", Err: os.ErrNotExist}, "PathError", ""},
		{"errors.New", errors.New("plain"), "", ""},
		{"fmt.Errorf", fmt.Errorf("plain %d", 1), "", ""},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), "", ""},
		{"NewError inside wins", &wrapping{workflow.NewError("Declined", "no")}, "Declined", ""},
		{"canceled inside wins", &wrapping{workflow.Canceled}, workflow.ErrTypeCanceled, ""},
		{"stack kept", &StackedError{stack: "main.go:12"}, "StackedError", "main.go:12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := engine.FailureFromError(tt.err)
			assert.Equal(t, tt.want, f.Type)
			assert.Equal(t, tt.err.Error(), f.Message)
			assert.Equal(t, tt.stack, f.Stack)

			back := engine.ErrorFromFailure(f)
			var we *workflow.Error
			if assert.ErrorAs(t, back, &we) {
				assert.Equal(t, tt.want, we.Type)
				assert.Equal(t, tt.err.Error(), we.Error(), "the message is intact")
				assert.Equal(t, tt.stack, we.Stack)
			}
			assert.Equal(t, f, engine.FailureFromError(back), "stable after a second trip")
		})
	}
}

// wrapping is a user type around another error.
type wrapping struct{ err error }

func (w *wrapping) Error() string { return "wrapping: " + w.err.Error() }
func (w *wrapping) Unwrap() error { return w.err }

func TestErrorFromFailureStack(t *testing.T) {
	err := engine.ErrorFromFailure(&history.Failure{Type: "CustomError", Message: "m", Stack: "s"})
	var we *workflow.Error
	assert.ErrorAs(t, err, &we)
	assert.Equal(t, workflow.Error{Type: "CustomError", Message: "m", Stack: "s"}, *we)
}
