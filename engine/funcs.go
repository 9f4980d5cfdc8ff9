package engine

// Registry finds workflow functions by name. *registry.Registry (shared
// by the worker, the replayer and the tester) is the implementation.
type Registry interface {
	// Workflow returns the function registered as name.
	Workflow(name string) (fn any, ok bool)
}

// Workflows is a Registry backed by a plain map, for test drivers that
// name their workflow functions themselves. Workers, replayers and the
// tester use *registry.Registry, which checks what is registered.
type Workflows map[string]any

// Workflow returns the function registered as name.
func (w Workflows) Workflow(name string) (any, bool) {
	fn, ok := w[name]
	return fn, ok
}
