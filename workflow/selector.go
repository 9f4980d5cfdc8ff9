package workflow

// Selector is Select with a memory, as Temporal's workflow.Selector: cases
// are added once and Select is called repeatedly. A future added with
// Await fires once: after its handler ran it leaves the selector, so a
// loop of Select calls handles each future exactly once. A Receive case
// stays and fires each time its channel has a value; a Default case runs
// whenever nothing else is ready.
//
//	sel := workflow.NewSelector(ctx)
//	for _, f := range futures {
//		sel.Add(workflow.Await(f, func(ctx workflow.Context, f workflow.Future[int]) { … }))
//	}
//	for range futures {
//		sel.Select(ctx) // each call handles one more future
//	}
//
// Use a Selector from the coroutine that made it.
type Selector struct {
	cases []SelectCase
}

// NewSelector returns an empty Selector.
func NewSelector(ctx Context) *Selector {
	envOf(ctx) // a Selector belongs to a run, like the rest of the API
	return &Selector{}
}

// Add adds cases (made by Await, Receive or Default) and returns s.
func (s *Selector) Add(cases ...SelectCase) *Selector {
	for _, c := range cases {
		if c == nil {
			panic("workflow.Selector.Add: nil case")
		}
	}
	s.cases = append(s.cases, cases...)
	return s
}

// Select waits until one of the selector's cases can proceed and runs its
// handler, as Select does; a future's case then leaves the selector. With
// no cases left, Select blocks forever (as Select with no cases).
func (s *Selector) Select(ctx Context) {
	i := selectIndex(ctx, s.cases)
	if i >= 0 && s.cases[i].firesOnce() {
		s.cases = append(s.cases[:i:i], s.cases[i+1:]...)
	}
}

// HasPending reports whether Select would run a case other than Default
// without waiting.
func (s *Selector) HasPending() bool {
	for _, c := range s.cases {
		if !c.isDefault() && c.ready() {
			return true
		}
	}
	return false
}

// Len is the number of cases the selector holds (futures not yet handled
// included).
func (s *Selector) Len() int { return len(s.cases) }
