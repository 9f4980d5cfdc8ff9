package workflow

import (
	"fmt"
)

// SideEffect runs fn once and records its result in the history; on replay
// it returns the recorded result without running fn. Use it for values that
// must not change between replays (random numbers, UUIDs). fn must not call
// blocking workflow functions.
func SideEffect[T any](ctx Context, fn func(ctx Context) T) Future[T] {
	env := envOf(ctx)
	f := newFuture[T](env.Scheduler())
	result, err := env.SideEffect(func() ([]byte, error) {
		b, err := env.Encode(fn(ctx))
		if err != nil {
			return nil, fmt.Errorf("workflow.SideEffect: encode result: %w", err)
		}
		return b, nil
	})
	settleDecoded(env, f, "workflow.SideEffect", result, err)
	return f
}
