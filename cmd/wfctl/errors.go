package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// Exit codes, documented in the package comment and docs/wfctl.md.
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitNotFound     = 3
	exitUnsuccessful = 4
	exitNotFinished  = 5
	exitInterrupted  = 130
)

// codedError is an error that asks for a particular exit code.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error { return &codedError{code: code, err: err} }

// usageErrorf is a usage error: a wrong command line, or input that could
// not be read. It exits with exitUsage.
func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// isNotFound reports whether err says an instance, a run or the namespace
// does not exist.
func isNotFound(err error) bool {
	return errors.Is(err, client.ErrInstanceNotFound) ||
		errors.Is(err, client.ErrExecutionNotFound) ||
		errors.Is(err, streams.ErrNamespaceNotFound)
}

// instanceError turns a not-found error about instance id into a short
// message with exitNotFound, and wraps any other error with what was being
// done.
func (a *app) instanceError(what, id string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, client.ErrExecutionNotFound) || errors.Is(err, streams.ErrNamespaceNotFound) {
		return withCode(exitNotFound, fmt.Errorf("%s: %w", what, err))
	}
	if isNotFound(err) {
		return withCode(exitNotFound, fmt.Errorf("%s: instance %q not found in namespace %q", what, id, a.g.namespace))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// exitCode is the exit code for the error a command returned. interrupted
// reports whether the command's context was canceled by a signal.
func exitCode(err error, interrupted bool) int {
	var ee *codedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case interrupted && errors.Is(err, context.Canceled):
		return exitInterrupted
	case isNotFound(err):
		return exitNotFound
	}
	return exitError
}
