package engine_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

func explode(ctx workflow.Context) error {
	var m map[string]int
	m["x"] = 1 // nil map write
	return nil
}

func TestPanicFailsTheWorkflowWithItsStack(t *testing.T) {
	tests := []struct {
		name    string
		wf      any
		message string
		frame   string
	}{
		{"in the workflow function", explode, "assignment to entry in nil map", "engine_test.explode"},
		{"in a workflow goroutine", func(ctx workflow.Context) error {
			workflow.Go(ctx, func(ctx workflow.Context) { panic(errors.New("from a goroutine")) })
			return workflow.Sleep(ctx, time.Hour)
		}, "from a goroutine", "TestPanicFailsTheWorkflowWithItsStack"},
		{"with a non-error value", func(ctx workflow.Context) error { panic(42) }, "42", "TestPanicFailsTheWorkflowWithItsStack"},
		{"runtime.Goexit", func(ctx workflow.Context) error { runtime.Goexit(); return nil }, "runtime.Goexit called in workflow code", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := enginetest.Start(t, tt.wf)
			final := r.Final()
			require.Equal(t, history.WorkflowFailed, final.Kind)
			assert.Equal(t, workflow.ErrTypePanic, final.Failure.Type)
			assert.Equal(t, tt.message, final.Failure.Message)
			assert.Contains(t, final.Failure.Stack, tt.frame)
			err := engine.ErrorFromFailure(final.Failure)
			var pe *workflow.PanicError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "panic: "+tt.message, pe.Error())
			r.ReplayCheck()
		})
	}
}

func TestCodeBlockedOutsideTheWorkflowAPIIsReported(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	wf := func(ctx workflow.Context) error {
		workflow.Sleep(ctx, time.Second)
		mu.Lock()   //jetflowvet:ignore blocking the coroutine for real is what this test checks
		mu.Unlock() //jetflowvet:ignore the test's deliberate lock, see above
		return nil
	}
	waitFor(t, func() bool { return coroutineGoroutines() == 0 })
	r := enginetest.New(t, engine.Options{BlockedTimeout: 50 * time.Millisecond}, engine.Workflows{"wf": wf})
	timer := r.Do(r.Started("wf"))[1]
	_, err := r.Execute(r.TimerFired(timer.ID))
	var be *engine.BlockedError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, "main", be.Coroutine)
	assert.Contains(t, err.Error(), `workflow code in coroutine "main" blocked for more than 50ms outside the workflow API`)
	assert.Contains(t, be.Stack, "sync.(*Mutex).Lock", "the stuck goroutine's stack")
	_, err2 := r.Ex.Execute(nil)
	assert.Same(t, err, err2, "the executor stays unusable")

	// The worker drops the executor. Once the workflow code unblocks, its
	// goroutine goes away instead of touching the dropped run.
	r.Ex.Close()
	mu.Unlock()
	waitFor(t, func() bool { return coroutineGoroutines() == 0 })
}

func TestCloseReleasesGoroutinesOfBlockedWorkflows(t *testing.T) {
	waitFor(t, func() bool { return coroutineGoroutines() == 0 })
	wf := func(ctx workflow.Context) error {
		for range 10 {
			workflow.Go(ctx, func(ctx workflow.Context) {
				workflow.NewSignalChannel[int](ctx, "never").Receive(ctx)
			})
		}
		workflow.ExecuteActivity[int](ctx, opts, "A").Get(ctx)
		return nil
	}
	var executors []*engine.Executor
	for range 20 {
		r := enginetest.New(t, engine.Options{}, engine.Workflows{"wf": wf})
		r.Do(r.Started("wf"))
		executors = append(executors, r.Ex)
	}
	require.Equal(t, 20*11, coroutineGoroutines())
	for _, ex := range executors {
		ex.Close()
		ex.Close() // idempotent
	}
	waitFor(t, func() bool { return coroutineGoroutines() == 0 })
}

// coroutineGoroutines counts the goroutines running workflow code.
func coroutineGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "internal/coro.(*coroutine).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitFor waits until cond holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("condition not met within 10s; goroutines:\n%s", trimStacks(string(buf[:n])))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func trimStacks(s string) string {
	if len(s) > 8000 {
		return s[:8000] + "\n..."
	}
	return strings.TrimSpace(s)
}
