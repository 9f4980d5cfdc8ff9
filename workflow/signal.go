package workflow

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/logkey"
)

// NewSignalChannel returns the channel on which the run receives the signals
// named name (client.SignalWorkflow or SignalWorkflow from another
// workflow). Signals that arrived before the call are waiting in it; none
// is ever dropped (the channel is unbounded), except one whose payload does
// not decode into T, which is logged. Calling it again with the same name
// returns the same channel.
func NewSignalChannel[T any](ctx Context, name string) Channel[T] {
	env := envOf(ctx)
	ch := env.SignalChannel(name, func() (any, func([]byte)) {
		c := newChannel[T](env.Scheduler(), unbounded)
		return c, func(payload []byte) {
			var v T
			if len(payload) > 0 {
				if err := env.Decode(payload, &v); err != nil {
					env.Logger().Error("dropped a signal whose payload does not decode",
						logkey.Signal, name, "type", typeName[T](), logkey.Err, err)
					return
				}
			}
			if c.closed {
				env.Logger().Warn("dropped a signal: its channel is closed", logkey.Signal, name)
				return
			}
			c.trySend(v)
		}
	})
	c, ok := ch.(*channel[T])
	if !ok {
		panic(fmt.Sprintf("workflow.NewSignalChannel: signal %q already has a channel of another type (%T), not Channel[%s]",
			name, ch, typeName[T]()))
	}
	return c
}

// SignalWorkflow sends a signal to another workflow instance. The future is
// ready once the signal is delivered, and fails with an error matching
// ErrInstanceNotFound if the instance does not exist. On a canceled ctx it
// fails at once with Canceled; a cancel of ctx before the workflow task
// that sends the signal ends drops the signal (nothing is sent or
// recorded) and fails the future with Canceled; a signal already sent is
// delivered whatever happens to ctx.
func SignalWorkflow(ctx Context, instanceID, name string, arg any) Future[struct{}] {
	env := envOf(ctx)
	sched := env.Scheduler()
	if ctx.Err() != nil {
		return newReadyFuture(sched, struct{}{}, Canceled)
	}
	if instanceID == "" || name == "" {
		return newReadyFuture(sched, struct{}{}, fmt.Errorf("workflow.SignalWorkflow: empty instance ID or signal name"))
	}
	payload, err := env.Encode(arg)
	if err != nil {
		return newReadyFuture(sched, struct{}{}, fmt.Errorf("workflow.SignalWorkflow(%s, %s): encode: %w", instanceID, name, err))
	}
	f := newFuture[struct{}](sched)
	var stop func()
	id := env.SignalWorkflow(instanceID, name, payload, func(_ []byte, err error) {
		if stop != nil {
			stop()
		}
		f.settle(struct{}{}, err)
	})
	if !f.settled {
		// Only a signal not sent yet (its task has not committed) can be
		// canceled: it is dropped and the future fails with Canceled.
		stop = ctx.impl().onCancel(func() { env.CancelCommand(id) })
	}
	return f
}
