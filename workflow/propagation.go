package workflow

import "context"

// ContextPropagator carries chosen values of a context across processes,
// as Temporal's: from the client's context.Context into the workflow's
// Context, from there into its activities' context.Context and its
// sub-workflows' Context. Tenant IDs and auth claims travel this way.
// Values travel as a header: keys and bytes, written by Inject and read by
// Extract, stored on the event that starts the work (WorkflowStarted,
// ActivityScheduled, SubWorkflowScheduled), so a replay sees the same.
// Set the same propagators on the client (client.Options), the worker
// (worker.Options) and the tester (tester.WithContextPropagators).
type ContextPropagator interface {
	// Inject writes what ctx carries into header (client side).
	Inject(ctx context.Context, header map[string][]byte) error
	// Extract returns ctx with what header carries (an activity's
	// context).
	Extract(ctx context.Context, header map[string][]byte) (context.Context, error)
	// InjectFromWorkflow writes what a workflow's ctx carries into header
	// (for an activity or a sub-workflow it starts).
	InjectFromWorkflow(ctx Context, header map[string][]byte) error
	// ExtractToWorkflow returns ctx with what header carries (a
	// workflow's root context). It must be deterministic: it runs again
	// on every replay.
	ExtractToWorkflow(ctx Context, header map[string][]byte) (Context, error)
}

// header is what ctx's propagators write for work started under it; nil
// when there is nothing.
func header(ctx Context) (map[string][]byte, error) {
	return envOf(ctx).Header(ctx)
}

// InjectHeader runs the propagators' Inject on ctx (a client's start).
func InjectHeader(ctx context.Context, props []ContextPropagator) (map[string][]byte, error) {
	if len(props) == 0 {
		return nil, nil
	}
	h := map[string][]byte{}
	for _, p := range props {
		if err := p.Inject(ctx, h); err != nil {
			return nil, err
		}
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}

// ExtractHeader runs the propagators' Extract on ctx (an activity's
// context).
func ExtractHeader(ctx context.Context, props []ContextPropagator, h map[string][]byte) (context.Context, error) {
	for _, p := range props {
		var err error
		if ctx, err = p.Extract(ctx, h); err != nil {
			return ctx, err
		}
	}
	return ctx, nil
}
