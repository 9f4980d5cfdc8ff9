package workflow

// SelectCase is one case of Select: made by Await, Receive or Default.
type SelectCase interface {
	// ready reports whether the case can complete without waiting.
	ready() bool
	// take completes a ready case and calls its handler.
	take(ctx Context)
	// register makes the case fire sel (as case idx) when it becomes
	// ready; unregister undoes that.
	register(sel *selectState, idx int)
	unregister(sel *selectState)
	// complete calls the handler of the case that fired sel.
	complete(ctx Context)
	isDefault() bool
	// firesOnce reports whether a Selector drops the case once it fired
	// (a future's).
	firesOnce() bool
}

// selectState is shared by the cases of one blocked Select: the first case
// to become ready sets fired, and later ones see it is taken.
type selectState struct {
	fired int
}

// Select waits until one of cases can proceed and runs its handler. If
// several can proceed when Select is called, the first in argument order
// wins; while Select waits, the first to become ready wins. With a Default
// case, Select does not wait: it runs the Default handler if no other case
// is ready. Select with no cases blocks forever. A cancel of ctx wakes
// Select only through its cases: add Receive(ctx.Done(), …) to stop
// waiting on a cancel (Await on a canceled activity, timer or
// sub-workflow fires as well, with Canceled).
func Select(ctx Context, cases ...SelectCase) {
	selectIndex(ctx, cases)
}

// selectIndex is Select; it returns the index of the case that ran.
func selectIndex(ctx Context, cases []SelectCase) int {
	def := -1
	for i, c := range cases {
		if c == nil {
			panic("workflow.Select: nil case")
		}
		if c.isDefault() {
			if def < 0 {
				def = i
			}
			continue
		}
		if c.ready() {
			c.take(ctx)
			return i
		}
	}
	if def >= 0 {
		cases[def].take(ctx)
		return def
	}
	sel := &selectState{fired: -1}
	for i, c := range cases {
		c.register(sel, i)
	}
	envOf(ctx).Scheduler().Block(func() bool { return sel.fired >= 0 })
	for i, c := range cases {
		if i != sel.fired {
			c.unregister(sel)
		}
	}
	cases[sel.fired].complete(ctx)
	return sel.fired
}

// Await is a Select case that proceeds when f is ready; handler (may be nil)
// then gets f, whose Get returns at once.
func Await[T any](f Future[T], handler func(ctx Context, f Future[T])) SelectCase {
	if f == nil {
		panic("workflow.Await: nil Future")
	}
	return &awaitCase[T]{f: f.impl(), handler: handler}
}

type awaitCase[T any] struct {
	f       *future[T]
	handler func(Context, Future[T])
}

func (a *awaitCase[T]) ready() bool { return a.f.settled }
func (a *awaitCase[T]) take(ctx Context) {
	if a.handler != nil {
		a.handler(ctx, a.f)
	}
}
func (a *awaitCase[T]) register(sel *selectState, idx int) {
	a.f.waiters = append(a.f.waiters, futureWaiter{sel: sel, idx: idx})
}
func (a *awaitCase[T]) unregister(sel *selectState) { a.f.removeWaiter(sel) }
func (a *awaitCase[T]) complete(ctx Context)        { a.take(ctx) }
func (a *awaitCase[T]) isDefault() bool             { return false }
func (a *awaitCase[T]) firesOnce() bool             { return true }

// Receive is a Select case that proceeds when c has a value (or is
// closed); handler (may be nil) gets the value received, with ok false for a
// closed channel.
func Receive[T any](c Channel[T], handler func(ctx Context, v T, ok bool)) SelectCase {
	if c == nil {
		panic("workflow.Receive: nil Channel")
	}
	return &receiveCase[T]{c: c.impl(), handler: handler}
}

type receiveCase[T any] struct {
	c       *channel[T]
	handler func(Context, T, bool)
	waiter  *waitingReceiver[T]
}

func (r *receiveCase[T]) ready() bool { return r.c.ready() }
func (r *receiveCase[T]) take(ctx Context) {
	v, ok, _ := r.c.tryReceive()
	if r.handler != nil {
		r.handler(ctx, v, ok)
	}
}
func (r *receiveCase[T]) register(sel *selectState, idx int) {
	r.waiter = &waitingReceiver[T]{sel: sel, idx: idx}
	r.c.receivers.push(r.waiter)
}
func (r *receiveCase[T]) unregister(sel *selectState) { r.c.removeReceiver(sel) }
func (r *receiveCase[T]) complete(ctx Context) {
	if r.handler != nil {
		r.handler(ctx, r.waiter.v, r.waiter.ok)
	}
}
func (r *receiveCase[T]) isDefault() bool { return false }
func (r *receiveCase[T]) firesOnce() bool { return false }

// Default is the Select case that runs when no other case is ready.
func Default(handler func(ctx Context)) SelectCase {
	return &defaultCase{handler: handler}
}

type defaultCase struct{ handler func(Context) }

func (d *defaultCase) ready() bool { return true }
func (d *defaultCase) take(ctx Context) {
	if d.handler != nil {
		d.handler(ctx)
	}
}
func (d *defaultCase) register(*selectState, int) {}
func (d *defaultCase) unregister(*selectState)    {}
func (d *defaultCase) complete(ctx Context)       { d.take(ctx) }
func (d *defaultCase) isDefault() bool            { return true }
func (d *defaultCase) firesOnce() bool            { return false }
