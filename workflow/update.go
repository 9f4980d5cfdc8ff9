package workflow

import (
	"fmt"
	"reflect"
)

// UpdateHandlerOptions configure an update handler
// (SetUpdateHandlerWithOptions).
type UpdateHandlerOptions struct {
	// Validator, when set, runs before an update is accepted: a
	// func(ctx Context, args...) error taking the handler's arguments. An
	// error rejects the update: nothing is recorded in the history and the
	// caller gets client.ErrUpdateRejected with the error's message. It must
	// only read workflow state; it cannot schedule work, wait, or start
	// coroutines (such a call rejects the update). It is not run again on
	// replay.
	Validator any
}

// SetUpdateHandler registers handler to run the updates named name
// (client.UpdateWorkflow). handler is a func(ctx Context, args...) (T, error)
// or func(ctx Context, args...) error: workflow code like the workflow
// function itself, which may call activities, timers and sub-workflows and
// wait. Each accepted update runs in a workflow coroutine of its own, so
// several run at once; its result (or error) is recorded in the history and
// returned to the caller. Registering a name again replaces the handler.
// An update whose name has no handler when it arrives is rejected.
func SetUpdateHandler(ctx Context, name string, handler any) error {
	return SetUpdateHandlerWithOptions(ctx, name, handler, UpdateHandlerOptions{})
}

// SetUpdateHandlerWithOptions is SetUpdateHandler with options, such as a
// validator that can reject an update before anything is recorded.
func SetUpdateHandlerWithOptions(ctx Context, name string, handler any, opts UpdateHandlerOptions) error {
	env := envOf(ctx)
	if name == "" {
		return fmt.Errorf("workflow.SetUpdateHandler: empty update name")
	}
	h := reflect.ValueOf(handler)
	if handler == nil || (h.Kind() == reflect.Func && h.IsNil()) {
		return fmt.Errorf("workflow.SetUpdateHandler(%s): nil handler", name)
	}
	if err := checkWorkflow(h.Type()); err != nil {
		return fmt.Errorf("workflow.SetUpdateHandler(%s): the handler: %w", name, err)
	}
	var v reflect.Value
	if opts.Validator != nil {
		v = reflect.ValueOf(opts.Validator)
		if v.Kind() == reflect.Func && v.IsNil() {
			v = reflect.Value{}
		} else if err := checkValidator(h.Type(), v.Type()); err != nil {
			return fmt.Errorf("workflow.SetUpdateHandler(%s): the validator: %w", name, err)
		}
	}
	env.SetUpdateHandler(name, h, v)
	return nil
}

// checkValidator checks that v is func(Context, the handler's
// arguments...) error.
func checkValidator(handler, v reflect.Type) error {
	if v.Kind() != reflect.Func {
		return fmt.Errorf("%v is not a function", v)
	}
	if v.NumOut() != 1 || v.Out(0) != reflect.TypeFor[error]() {
		return fmt.Errorf("%v: must return error", v)
	}
	if v.NumIn() != handler.NumIn() || v.IsVariadic() != handler.IsVariadic() {
		return fmt.Errorf("%v: must take the handler's parameters %v", v, handler)
	}
	for i := range v.NumIn() {
		if v.In(i) != handler.In(i) {
			return fmt.Errorf("%v: must take the handler's parameters %v", v, handler)
		}
	}
	return nil
}

// AllHandlersFinished reports whether no update handler of the run is
// running. A workflow that takes updates waits for it before it returns or
// continues as new, so that no accepted update is cut off by the run's end:
//
//	workflow.AwaitCondition(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
//
// (an update whose handler is still running when the run ends is answered
// with client.ErrInstanceFinished). AwaitAllHandlersFinished does that
// wait.
func AllHandlersFinished(ctx Context) bool {
	return envOf(ctx).UpdatesRunning() == 0
}

// AwaitAllHandlersFinished waits until no update handler of the run is
// running (see AllHandlersFinished). It returns Canceled, at once, if ctx
// is or becomes canceled first.
func AwaitAllHandlersFinished(ctx Context) error {
	env := envOf(ctx)
	env.Scheduler().Block(func() bool { return env.UpdatesRunning() == 0 || ctx.Err() != nil })
	if env.UpdatesRunning() == 0 {
		return nil
	}
	return Canceled
}
