package tester

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Errors of the test itself, as opposed to errors of the workflow under
// test. Execute reports them (see WithTB); Err and WorkflowResult return
// them wrapped, so they match with errors.Is.
var (
	// ErrUnexpectedCall is wrapped by the error of an activity,
	// sub-workflow or signal the workflow called that no mock expects and
	// nothing registered can run. The message names the call and its
	// arguments.
	ErrUnexpectedCall = errors.New("tester: unexpected call")
	// ErrTestTimeout is wrapped when Execute ran out of wall time (see
	// WithTestTimeout).
	ErrTestTimeout = errors.New("tester: test timeout")
	// ErrNotFinished is wrapped by WorkflowResult's error while the
	// workflow has not finished: Execute was not called, or it returned
	// with the workflow still waiting for something nothing in the test
	// will send.
	ErrNotFinished = errors.New("tester: the workflow has not finished")
	// ErrBadSetup is wrapped by errors in how the test was set up: a
	// function that is not a workflow or an activity, arguments that do
	// not fit, Execute called twice.
	ErrBadSetup = errors.New("tester: bad test setup")
)

// ContinuedAsNewError is the error WorkflowResult returns for a workflow
// that ended its run with workflow.ContinueAsNew (unless the tester follows
// continued runs, see WithFollowContinueAsNew). Match it with errors.As.
type ContinuedAsNewError struct {
	// WorkflowName is the name of the workflow the next run runs.
	WorkflowName string
	// Args are the arguments of the next run, decoded into the workflow
	// function's parameter types.
	Args []any
}

// Error says the run continued as new and with which arguments.
func (e *ContinuedAsNewError) Error() string {
	return fmt.Sprintf("workflow %s continued as new with arguments %s", e.WorkflowName, formatArgs(e.Args))
}

// formatArgs renders call arguments for messages: (35, "x", main.T{A:1}).
func formatArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = formatValue(a)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// formatValue renders one value for messages: Go syntax for strings and
// structs, plain numbers, and maps and slices as fmt prints them (values
// decoded without knowing their type come as those).
func formatValue(v any) string {
	if v == nil {
		return "nil"
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.String:
		return fmt.Sprintf("%q", v)
	case reflect.Map, reflect.Slice, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return fmt.Sprintf("%v", v)
	}
	return fmt.Sprintf("%#v", v)
}
