package workflow

import (
	"fmt"
	"reflect"

	"github.com/jetflow/jetflow/internal/wfenv"
)

func init() {
	wfenv.NewRootContext = func(env wfenv.Env) (any, func()) {
		ctx := newRootContext(env)
		return Context(ctx), func() { ctx.scope.cancel() }
	}
}

// envOf returns the executor a context is bound to.
func envOf(ctx Context) wfenv.Env {
	if ctx == nil {
		panic("workflow: nil Context")
	}
	return ctx.impl().env
}

// typeName names T for error messages.
func typeName[T any]() string { return reflect.TypeFor[T]().String() }

// settleDecoded settles f with a command's answer, decoding the result into
// T.
func settleDecoded[T any](env wfenv.Env, f *future[T], what string, result []byte, err error) {
	var v T
	if err != nil {
		f.settle(v, err)
		return
	}
	if len(result) > 0 {
		if derr := env.Decode(result, &v); derr != nil {
			f.settle(v, fmt.Errorf("%s: decode result into %s: %w", what, typeName[T](), derr))
			return
		}
	}
	f.settle(v, nil)
}
