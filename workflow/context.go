package workflow

import (
	"github.com/jetflow/jetflow/internal/wfenv"
)

// Context is the context of workflow code: it carries cancellation and
// values like context.Context, and binds every call of this package to the
// run executing it. Pass the Context a function receives to the calls it
// makes; never keep one beyond the run.
//
// Contexts are made by the executor (the one a workflow function receives)
// and derived with WithCancel, WithValue and NewDisconnectedContext.
type Context interface {
	// Done returns a channel that is closed when the context is canceled;
	// use it in Select with Receive. A context that can never be canceled
	// returns a channel that is never closed.
	Done() Channel[struct{}]
	// Err returns Canceled once the context is canceled, nil before.
	Err() error
	// Value returns the value stored for key by WithValue, or nil.
	Value(key any) any

	impl() *wctx
}

// CancelFunc cancels a context made by WithCancel. Calling it again does
// nothing.
type CancelFunc func()

// wctx is the one implementation of Context.
type wctx struct {
	parent   *wctx
	env      wfenv.Env
	hasValue bool
	key, val any
	// scope is the nearest cancellation scope; nil for a context that is
	// never canceled (a disconnected context and what derives from it).
	scope *cancelScope
}

func (c *wctx) impl() *wctx { return c }

func (c *wctx) Done() Channel[struct{}] {
	if c.scope == nil {
		return newChannel[struct{}](c.env.Scheduler(), 0)
	}
	return c.scope.done
}

func (c *wctx) Err() error {
	if c.scope == nil {
		return nil
	}
	return c.scope.err
}

func (c *wctx) Value(key any) any {
	for n := c; n != nil; n = n.parent {
		if n.hasValue && n.key == key {
			return n.val
		}
	}
	return nil
}

// onCancel runs fn when the context is canceled (at once if it already
// is) and returns a function that forgets fn.
func (c *wctx) onCancel(fn func()) (stop func()) {
	if c.scope == nil {
		return func() {}
	}
	if c.scope.err != nil {
		fn()
		return func() {}
	}
	return c.scope.register(fn).remove
}

// cancelScope is what WithCancel (and the root) adds: an error, a done
// channel, and the callbacks to run on cancel, in registration order so a
// cancel issues its commands in a deterministic order.
type cancelScope struct {
	err        error
	done       *channel[struct{}]
	head, tail *cancelReg
	// detach removes this scope from its parent's callbacks.
	detach func()
}

type cancelReg struct {
	scope      *cancelScope
	prev, next *cancelReg
	fn         func()
}

func (s *cancelScope) register(fn func()) *cancelReg {
	r := &cancelReg{scope: s, fn: fn, prev: s.tail}
	if s.tail != nil {
		s.tail.next = r
	} else {
		s.head = r
	}
	s.tail = r
	return r
}

func (r *cancelReg) remove() {
	s := r.scope
	if s == nil {
		return
	}
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		s.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		s.tail = r.prev
	}
	r.scope, r.prev, r.next = nil, nil, nil
}

func (s *cancelScope) cancel() {
	if s.err != nil {
		return
	}
	s.err = Canceled
	if s.detach != nil {
		s.detach()
		s.detach = nil
	}
	s.done.Close()
	// Detach the callbacks first: a callback may settle a future whose
	// settlement forgets other callbacks.
	var fns []func()
	for r := s.head; r != nil; {
		next := r.next
		fns = append(fns, r.fn)
		r.scope, r.prev, r.next = nil, nil, nil
		r = next
	}
	s.head, s.tail = nil, nil
	for _, fn := range fns {
		fn()
	}
}

func newRootContext(env wfenv.Env) *wctx {
	return &wctx{env: env, scope: &cancelScope{done: newChannel[struct{}](env.Scheduler(), 0)}}
}

// WithCancel returns a context that is canceled when cancel is called or
// when parent is canceled. Canceling it cancels the timers, activities and
// sub-workflows started under it that are still pending.
func WithCancel(parent Context) (Context, CancelFunc) {
	p := parent.impl()
	s := &cancelScope{done: newChannel[struct{}](p.env.Scheduler(), 0)}
	ctx := &wctx{parent: p, env: p.env, scope: s}
	if p.scope != nil {
		s.detach = p.onCancel(s.cancel)
	}
	return ctx, s.cancel
}

// WithValue returns a context that carries val for key. Use a key of an
// unexported type of your own package, as with context.WithValue.
func WithValue(parent Context, key, val any) Context {
	p := parent.impl()
	return &wctx{parent: p, env: p.env, hasValue: true, key: key, val: val, scope: p.scope}
}

// NewDisconnectedContext returns a context with ctx's values that is not
// canceled when ctx is: use it for cleanup work after a cancellation
// (activities, timers, sub-workflows scheduled under it run normally).
func NewDisconnectedContext(ctx Context) Context {
	p := ctx.impl()
	return &wctx{parent: p, env: p.env}
}
