package worker

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/jetflow/jetflow/engine"
)

// RegisterOption changes how a function is registered.
type RegisterOption func(*registerOptions)

type registerOptions struct {
	name string
}

// WithName registers a function under the given name instead of its own.
func WithName(name string) RegisterOption {
	return func(o *registerOptions) { o.name = name }
}

// registry holds a worker's workflows and activities by name. It is the
// engine.Registry the executors look workflows up in.
type registry struct {
	mu         sync.RWMutex
	workflows  map[string]any
	activities map[string]any
}

func newRegistry() *registry {
	return &registry{workflows: map[string]any{}, activities: map[string]any{}}
}

// Workflow implements engine.Registry.
func (r *registry) Workflow(name string) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.workflows[name]
	return fn, ok
}

func (r *registry) activity(name string) (any, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.activities[name]
	return fn, ok
}

// ErrAlreadyRegistered is returned when a name is registered twice.
var ErrAlreadyRegistered = errors.New("worker: name already registered")

func (r *registry) addWorkflow(fn any, opts []RegisterOption) error {
	if err := engine.ValidateWorkflow(fn); err != nil {
		return fmt.Errorf("worker: RegisterWorkflow: %w", err)
	}
	name, err := registeredName(fn, opts)
	if err != nil {
		return fmt.Errorf("worker: RegisterWorkflow: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.workflows[name]; ok {
		return fmt.Errorf("%w: workflow %q", ErrAlreadyRegistered, name)
	}
	r.workflows[name] = fn
	return nil
}

// addActivity registers a function, or every exported method of a struct
// pointer (each under its method name).
func (r *registry) addActivity(a any, opts []RegisterOption) error {
	if a == nil {
		return errors.New("worker: RegisterActivity: nil activity")
	}
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		o := registerOptions{}
		for _, opt := range opts {
			opt(&o)
		}
		if o.name != "" {
			return errors.New("worker: RegisterActivity: WithName applies to a function, not to a struct of activities")
		}
		return r.addActivityMethods(v)
	}
	if err := engine.ValidateActivity(a); err != nil {
		return fmt.Errorf("worker: RegisterActivity: %w", err)
	}
	name, err := registeredName(a, opts)
	if err != nil {
		return fmt.Errorf("worker: RegisterActivity: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.activities[name]; ok {
		return fmt.Errorf("%w: activity %q", ErrAlreadyRegistered, name)
	}
	r.activities[name] = a
	return nil
}

func (r *registry) addActivityMethods(v reflect.Value) error {
	t := v.Type()
	methods := map[string]any{}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		fn := v.Method(i).Interface()
		if err := engine.ValidateActivity(fn); err != nil {
			return fmt.Errorf("worker: RegisterActivity: method %s.%s: %w", t.Elem().Name(), m.Name, err)
		}
		methods[m.Name] = fn
	}
	if len(methods) == 0 {
		return fmt.Errorf("worker: RegisterActivity: %s has no exported methods", t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range methods {
		if _, ok := r.activities[name]; ok {
			return fmt.Errorf("%w: activity %q (method of %s)", ErrAlreadyRegistered, name, t)
		}
	}
	for name, fn := range methods {
		r.activities[name] = fn
	}
	return nil
}

func registeredName(fn any, opts []RegisterOption) (string, error) {
	o := registerOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.name != "" {
		return o.name, nil
	}
	return engine.FuncName(fn)
}
