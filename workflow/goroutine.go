package workflow

// Go runs f as a new workflow coroutine: the deterministic counterpart of
// the go statement. f receives ctx; it runs when the calling code next
// waits, and coroutines run in the order they were started.
func Go(ctx Context, f func(ctx Context)) {
	envOf(ctx).Go(func() { f(ctx) })
}

// WaitGroup waits for a set of workflow coroutines to finish, like
// sync.WaitGroup.
type WaitGroup interface {
	// Add adds delta (which may be negative) to the counter.
	Add(delta int)
	// Done decrements the counter by one.
	Done()
	// Wait blocks until the counter is zero.
	Wait(ctx Context)
}

// NewWaitGroup returns a WaitGroup with a zero counter.
func NewWaitGroup(ctx Context) WaitGroup {
	envOf(ctx)
	return &waitGroup{}
}

type waitGroup struct{ n int }

func (wg *waitGroup) Add(delta int) {
	wg.n += delta
	if wg.n < 0 {
		panic("workflow: negative WaitGroup counter")
	}
}

func (wg *waitGroup) Done() { wg.Add(-1) }

func (wg *waitGroup) Wait(ctx Context) {
	envOf(ctx).Scheduler().Block(func() bool { return wg.n == 0 })
}
