package rules

import (
	"context"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/jetflow/jetflow/workflow"
)

// SortedRanges ranges over maps in the ways whose order cannot matter.
func SortedRanges(ctx workflow.Context, m map[string]int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	ints := make([]int, 0, len(m))
	for _, v := range m {
		ints = append(ints, v)
	}
	slices.Sort(ints)

	var byLen []string
	for k := range m {
		byLen = append(byLen, k)
	}
	sort.Slice(byLen, func(i, j int) bool { return len(byLen[i]) < len(byLen[j]) })

	var fn []string
	for k := range m {
		fn = append(fn, k)
	}
	slices.SortFunc(fn, func(a, b string) int { return len(a) - len(b) })

	var conv []string
	for k := range m {
		conv = append(conv, k)
	}
	sort.Sort(sort.StringSlice(conv))

	filled := make([]string, len(m))
	i := 0
	for k := range m {
		filled[i] = k
		i++
	}
	sort.Strings(filled)

	for _, k := range slices.Sorted(maps.Keys(m)) {
		keys = append(keys, k)
	}

	copied := map[string]int{}
	total := 0
	for k, v := range m {
		copied[k] = v
		total += v
	}
	for k := range copied {
		delete(copied, k)
	}
	return keys
}

// Deterministic uses the workflow's replacements.
func Deterministic(ctx workflow.Context) error {
	_ = workflow.Now(ctx)
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return err
	}
	c := workflow.NewChannel[int](ctx)
	workflow.Go(ctx, func(ctx workflow.Context) { c.Send(ctx, 1) })
	_, _ = c.Receive(ctx)
	// A query handler records nothing: it cannot change a replay.
	_ = workflow.SetQueryHandler(ctx, "now", func() (time.Time, error) { return time.Now(), nil })
	// A SideEffect runs once and is recorded: it may read the clock.
	_, err := workflow.SideEffect(ctx, func(ctx workflow.Context) time.Time { return time.Now() }).Get(ctx)
	return err
}

// Context is another package's Context: a function taking it only looks
// like a workflow.
type Context interface{ Done() <-chan struct{} }

func LooksLikeWorkflow(ctx Context) time.Time { // want LooksLikeWorkflow:`nondeterministic\(go statement\)`
	go func() {}()
	return time.Now()
}

// NotWorkflow takes a context.Context: an ordinary function.
func NotWorkflow(ctx context.Context) time.Time { // want NotWorkflow:`nondeterministic\(time.Sleep\)`
	time.Sleep(time.Millisecond)
	return time.Now()
}
