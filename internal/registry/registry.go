// Package registry holds the workflow and activity functions of a worker,
// a replayer or a tester by the names workflows call them by. The three
// share it, so a function registers, is named and is refused the same way
// everywhere.
package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/workflow"
)

// ErrAlreadyRegistered means a name is taken by another function.
var ErrAlreadyRegistered = errors.New("name already registered")

var workflowContextType = reflect.TypeFor[workflow.Context]()

// Name returns the name a workflow or activity function is registered and
// called by: a plain function's short name ("Activity1"), or the method
// name of a method value or method expression ("Activity2" for a.Activity2
// with a *Activities). workflow.ExecuteActivity and
// workflow.CreateSubWorkflowInstance name functions the same way.
// Anonymous functions get an error.
func Name(fn any) (string, error) { return funcinfo.Name(fn) }

// CheckWorkflow checks that fn is a workflow function:
// func(workflow.Context, args...) error or (T, error).
func CheckWorkflow(fn any) error {
	if err := funcinfo.CheckWorkflow(reflect.TypeOf(fn), workflowContextType); err != nil {
		return fmt.Errorf("not a workflow function: %w", err)
	}
	if reflect.ValueOf(fn).IsNil() {
		return errors.New("nil workflow function")
	}
	return nil
}

// CheckActivity checks that fn is an activity function:
// func(context.Context, args...) error or (T, error).
func CheckActivity(fn any) error {
	if err := funcinfo.CheckActivity(reflect.TypeOf(fn)); err != nil {
		return fmt.Errorf("not an activity function: %w", err)
	}
	if reflect.ValueOf(fn).IsNil() {
		return errors.New("nil activity function")
	}
	return nil
}

// Registry maps names to workflow and activity functions. It is safe for
// concurrent use. Registering the same function again under the same name
// is allowed and changes nothing (a workflow under test may also be its own
// sub-workflow); another function under a taken name, or a struct's method
// under a taken name, is refused with ErrAlreadyRegistered.
type Registry struct {
	mu         sync.RWMutex
	workflows  map[string]any
	activities map[string]any
	// dynWorkflow and dynActivity handle the names nothing else is
	// registered as (nil: none).
	dynWorkflow DynamicWorkflowFunc
	dynActivity DynamicActivityFunc
}

// DynamicWorkflowFunc is a catch-all workflow: it runs any workflow name
// no workflow is registered as, and gets that name and the raw arguments.
type DynamicWorkflowFunc = func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error)

// DynamicActivityFunc is a catch-all activity, as DynamicWorkflowFunc.
type DynamicActivityFunc = func(ctx context.Context, name string, args converter.EncodedValues) (any, error)

// Dynamic is what Workflow and Activity return for a name only the
// catch-all handles: the name called and the catch-all function
// (a DynamicWorkflowFunc or a DynamicActivityFunc).
type Dynamic struct {
	Name string
	Fn   any
}

// SetDynamicWorkflow registers the catch-all workflow; a second one is
// refused.
func (r *Registry) SetDynamicWorkflow(fn DynamicWorkflowFunc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case fn == nil:
		return errors.New("nil dynamic workflow")
	case r.dynWorkflow != nil:
		return fmt.Errorf("dynamic workflow: %w", ErrAlreadyRegistered)
	}
	r.dynWorkflow = fn
	return nil
}

// SetDynamicActivity registers the catch-all activity; a second one is
// refused.
func (r *Registry) SetDynamicActivity(fn DynamicActivityFunc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case fn == nil:
		return errors.New("nil dynamic activity")
	case r.dynActivity != nil:
		return fmt.Errorf("dynamic activity: %w", ErrAlreadyRegistered)
	}
	r.dynActivity = fn
	return nil
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{workflows: map[string]any{}, activities: map[string]any{}}
}

// Workflow returns the workflow function registered as name, else a
// *Dynamic for the catch-all workflow if there is one.
func (r *Registry) Workflow(name string) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if fn, ok := r.workflows[name]; ok {
		return fn, true
	}
	if r.dynWorkflow != nil {
		return &Dynamic{Name: name, Fn: r.dynWorkflow}, true
	}
	return nil, false
}

// Activity returns the activity function registered as name, else a
// *Dynamic for the catch-all activity if there is one.
func (r *Registry) Activity(name string) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if fn, ok := r.activities[name]; ok {
		return fn, true
	}
	if r.dynActivity != nil {
		return &Dynamic{Name: name, Fn: r.dynActivity}, true
	}
	return nil, false
}

// WorkflowNames lists the registered workflows' names, sorted.
func (r *Registry) WorkflowNames() []string { return r.names(r.workflows) }

// ActivityNames lists the registered activities' names, sorted.
func (r *Registry) ActivityNames() []string { return r.names(r.activities) }

func (r *Registry) names(m map[string]any) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// AddWorkflow registers workflow function fn as name, or under its own
// name (Name) when name is empty, and returns the name used.
func (r *Registry) AddWorkflow(fn any, name string) (string, error) {
	if err := CheckWorkflow(fn); err != nil {
		return "", err
	}
	name, err := nameOf(fn, name)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := add(r.workflows, name, fn); err != nil {
		return "", fmt.Errorf("workflow %q: %w", name, err)
	}
	return name, nil
}

// AddActivity registers an activity: a function (as name, or under its
// own name when name is empty), or a pointer to a struct, whose exported
// methods are each registered under their method name (name must then be
// empty). The methods are registered all or none.
func (r *Registry) AddActivity(a any, name string) error {
	if a == nil {
		return errors.New("nil activity")
	}
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if name != "" {
			return errors.New("a name applies to a function, not to a struct of activities")
		}
		return r.addMethods(v, "")
	}
	if err := CheckActivity(a); err != nil {
		return err
	}
	name, err := nameOf(a, name)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := add(r.activities, name, a); err != nil {
		return fmt.Errorf("activity %q: %w", name, err)
	}
	return nil
}

// AddActivityMethods registers every exported method of the struct a
// points to as prefix + the method's name, so two structs with a method
// of the same name can both be registered under different prefixes.
func (r *Registry) AddActivityMethods(a any, prefix string) error {
	v := reflect.ValueOf(a)
	if a == nil || v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%T is not a pointer to a struct of activities", a)
	}
	return r.addMethods(v, prefix)
}

func (r *Registry) addMethods(v reflect.Value, prefix string) error {
	t := v.Type()
	if t.NumMethod() == 0 {
		return fmt.Errorf("%v has no exported methods", t)
	}
	methods := make(map[string]any, t.NumMethod())
	for i := range t.NumMethod() {
		fn := v.Method(i).Interface()
		if err := CheckActivity(fn); err != nil {
			return fmt.Errorf("method %s of %v: %w", t.Method(i).Name, t, err)
		}
		methods[prefix+t.Method(i).Name] = fn
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A method value's code is shared by every receiver, so a method name
	// registered before is refused even for the same struct type: the
	// receivers (and what they hold) may differ.
	for name := range methods {
		if _, ok := r.activities[name]; ok {
			return fmt.Errorf("activity %q (method of %v): %w", name, t, ErrAlreadyRegistered)
		}
	}
	for name, fn := range methods {
		r.activities[name] = fn
	}
	return nil
}

func nameOf(fn any, name string) (string, error) {
	if name != "" {
		return name, nil
	}
	n, err := Name(fn)
	if err != nil {
		return "", fmt.Errorf("%w (register it under a name)", err)
	}
	return n, nil
}

func add(m map[string]any, name string, fn any) error {
	if prev, ok := m[name]; ok && !sameFunc(prev, fn) {
		return ErrAlreadyRegistered
	}
	m[name] = fn
	return nil
}

// sameFunc reports whether a and b are the same plain function (the same
// code). Closures of one literal share their code, so the first one
// registered stays.
func sameFunc(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Type() == vb.Type() && va.Pointer() == vb.Pointer()
}

// AddActivity registers activity a in r as the worker and the tester do:
// under name if given; else a struct's methods as prefix + method name
// and a function as prefix + its own name.
func AddActivity(r *Registry, a any, name, prefix string) error {
	if name != "" || prefix == "" {
		return r.AddActivity(a, name)
	}
	v := reflect.ValueOf(a)
	if a != nil && v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		return r.AddActivityMethods(a, prefix)
	}
	n, err := Name(a)
	if err != nil {
		return err
	}
	return r.AddActivity(a, prefix+n)
}

// NewWorkflows returns a registry of the workflow functions fns, each under
// its own name: a short way to build one for a replay or a test.
func NewWorkflows(fns ...any) (*Registry, error) {
	r := New()
	for _, fn := range fns {
		if _, err := r.AddWorkflow(fn, ""); err != nil {
			return nil, err
		}
	}
	return r, nil
}
