package engine

import (
	"fmt"
	"reflect"

	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/workflow"
)

var workflowContextType = reflect.TypeFor[workflow.Context]()

// FuncName returns the name a workflow or activity function is registered
// and called by: a plain function's short name ("Activity1"), or the method
// name of a method value or method expression ("Activity2" for a.Activity2
// with a *Activities). workflow.ExecuteActivity and
// workflow.CreateSubWorkflowInstance name functions the same way, so a
// worker registering with FuncName (or with each exported method name of a
// struct) finds what workflows call. Anonymous functions get an error.
func FuncName(fn any) (string, error) {
	name, err := funcinfo.Name(fn)
	if err != nil {
		return "", fmt.Errorf("engine: %w", err)
	}
	return name, nil
}

// ValidateWorkflow checks that fn is a workflow function:
// func(workflow.Context, args...) error or (T, error).
func ValidateWorkflow(fn any) error {
	if err := funcinfo.CheckWorkflow(reflect.TypeOf(fn), workflowContextType); err != nil {
		return fmt.Errorf("engine: not a workflow function: %w", err)
	}
	if reflect.ValueOf(fn).IsNil() {
		return fmt.Errorf("engine: nil workflow function")
	}
	return nil
}

// ValidateActivity checks that fn is an activity function:
// func(context.Context, args...) error or (T, error).
func ValidateActivity(fn any) error {
	if err := funcinfo.CheckActivity(reflect.TypeOf(fn)); err != nil {
		return fmt.Errorf("engine: not an activity function: %w", err)
	}
	if reflect.ValueOf(fn).IsNil() {
		return fmt.Errorf("engine: nil activity function")
	}
	return nil
}

// DecodeArgs decodes encoded arguments into values for the parameters of
// fn that follow its first (the context), ready for reflect.Value.Call.
// Errors say which argument does not fit and how many fn takes.
func DecodeArgs(fn any, args [][]byte, c Converter) ([]reflect.Value, error) {
	if c == nil {
		c = DefaultConverter
	}
	return funcinfo.DecodeArgs(reflect.TypeOf(fn), 1, args, c.Decode)
}

// Registry finds workflow functions by name.
type Registry interface {
	// Workflow returns the function registered as name.
	Workflow(name string) (fn any, ok bool)
}

// Workflows is a Registry backed by a map from name to workflow function.
type Workflows map[string]any

// Workflow returns the function registered as name.
func (w Workflows) Workflow(name string) (any, bool) {
	fn, ok := w[name]
	return fn, ok
}

// NewWorkflows validates workflow functions and returns a Registry of them
// under their FuncName names.
func NewWorkflows(fns ...any) (Workflows, error) {
	w := make(Workflows, len(fns))
	for _, fn := range fns {
		if err := ValidateWorkflow(fn); err != nil {
			return nil, err
		}
		name, err := FuncName(fn)
		if err != nil {
			return nil, err
		}
		if _, dup := w[name]; dup {
			return nil, fmt.Errorf("engine: two workflows named %q", name)
		}
		w[name] = fn
	}
	return w, nil
}
