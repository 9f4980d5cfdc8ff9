package workflow

// Options carried by a Context, as Temporal's workflow.WithActivityOptions
// and WithChildOptions: set once, used by every call below that passes
// zero options.

type activityOptionsKey struct{}

type subWorkflowOptionsKey struct{}

// WithActivityOptions returns a context carrying opts: ExecuteActivity
// calls given the zero ActivityOptions{} under it (or a context derived
// from it) use opts instead. Options given to a call are used as they
// are, never merged with the context's.
func WithActivityOptions(ctx Context, opts ActivityOptions) Context {
	return WithValue(ctx, activityOptionsKey{}, opts)
}

// GetActivityOptions returns the activity options ctx carries (set by
// WithActivityOptions), or the zero ActivityOptions.
func GetActivityOptions(ctx Context) ActivityOptions {
	o, _ := ctx.Value(activityOptionsKey{}).(ActivityOptions)
	return o
}

// WithSubWorkflowOptions returns a context carrying opts:
// CreateSubWorkflowInstance calls given the zero SubWorkflowOptions{} under
// it use opts instead. An InstanceID set here would be shared by every
// child started under the context; leave it empty unless only one is.
func WithSubWorkflowOptions(ctx Context, opts SubWorkflowOptions) Context {
	return WithValue(ctx, subWorkflowOptionsKey{}, opts)
}

// GetSubWorkflowOptions returns the sub-workflow options ctx carries (set
// by WithSubWorkflowOptions), or the zero SubWorkflowOptions.
func GetSubWorkflowOptions(ctx Context) SubWorkflowOptions {
	o, _ := ctx.Value(subWorkflowOptionsKey{}).(SubWorkflowOptions)
	return o
}

// activityOptionsFor is opts, or ctx's options when opts is zero.
func activityOptionsFor(ctx Context, opts ActivityOptions) ActivityOptions {
	if opts == (ActivityOptions{}) {
		return GetActivityOptions(ctx)
	}
	return opts
}

// subWorkflowOptionsFor is opts, or ctx's options when opts is zero.
func subWorkflowOptionsFor(ctx Context, opts SubWorkflowOptions) SubWorkflowOptions {
	if opts.isZero() {
		return GetSubWorkflowOptions(ctx)
	}
	return opts
}
