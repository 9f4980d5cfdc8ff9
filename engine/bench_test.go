package engine_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

// stepLoop schedules one activity after another, forever: each task is one
// ActivityCompleted in, one ActivityScheduled out.
func stepLoop(ctx workflow.Context) error {
	for {
		if _, err := workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, "Step", 1).Get(ctx); err != nil {
			return err
		}
	}
}

type loopRun struct {
	ex      *engine.Executor
	pending int64 // the activity waiting for its answer
	result  []byte
	seq     int
	clock   time.Time
}

func newLoopRun(tb testing.TB) *loopRun {
	ex, err := engine.NewExecutor(engine.Options{InstanceID: "bench", ExecutionID: "run", Registry: engine.Workflows{"loop": stepLoop}})
	if err != nil {
		tb.Fatal(err)
	}
	result, _ := converter.Default.Encode(1)
	return &loopRun{ex: ex, result: result, clock: time.Unix(1_700_000_000, 0)}
}

func (l *loopRun) task(tb testing.TB, ev history.Event) []history.Event {
	l.seq++
	l.clock = l.clock.Add(time.Millisecond)
	ev.InboxID, ev.Time = "m"+strconv.Itoa(l.seq), l.clock
	out, err := l.ex.Execute([]history.Event{ev})
	if err != nil {
		tb.Fatal(err)
	}
	l.pending = out[len(out)-1].ID
	return out
}

func (l *loopRun) next(tb testing.TB) []history.Event {
	return l.task(tb, history.Event{Kind: history.ActivityCompleted, ScheduleID: l.pending, Result: l.result})
}

// loopHistory returns a history of stepLoop at least n events long.
func loopHistory(tb testing.TB, n int) []history.Event {
	l := newLoopRun(tb)
	defer l.ex.Close()
	h := l.task(tb, history.Event{Kind: history.WorkflowStarted, Name: "loop"})
	for len(h) < n {
		h = append(h, l.next(tb)...)
	}
	return h
}

// BenchmarkWarmTask is the cost of one workflow task (one inbound event,
// one command out) on a cached executor whose run already has a history of
// the given length. Every tasksPerExecutor tasks the executor is rebuilt by
// replay, so the length stays within 2*tasksPerExecutor events of the
// nominal one. Only the tasks are timed, by hand (the rebuilds would
// dominate b.StopTimer's bookkeeping), and ns/op, B/op and allocs/op are
// reported for them alone. The cost must not depend on the length.
func BenchmarkWarmTask(b *testing.B) {
	for _, length := range []int{10, 10_000} {
		b.Run("history="+strconv.Itoa(length), func(b *testing.B) {
			h := loopHistory(b, length)
			tasksPerExecutor := max(50, length/10)
			var (
				elapsed        time.Duration
				bytes, mallocs uint64
				before, after  runtime.MemStats
				done           int
			)
			for done < b.N {
				l := newLoopRun(b)
				if err := l.ex.Replay(h); err != nil {
					b.Fatal(err)
				}
				l.pending, l.seq = h[len(h)-1].ID, len(h)
				n := min(tasksPerExecutor, b.N-done)
				runtime.ReadMemStats(&before)
				start := time.Now()
				for range n {
					l.next(b)
				}
				elapsed += time.Since(start)
				runtime.ReadMemStats(&after)
				bytes += after.TotalAlloc - before.TotalAlloc
				mallocs += after.Mallocs - before.Mallocs
				done += n
				l.ex.Close()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(bytes)/float64(b.N), "B/task")
			b.ReportMetric(float64(mallocs)/float64(b.N), "allocs/task")
		})
	}
}

// BenchmarkReplay is the cost of rebuilding an executor from a 10,000-event
// history (a cache miss), reported per event.
func BenchmarkReplay(b *testing.B) {
	h := loopHistory(b, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l := newLoopRun(b)
		if err := l.ex.Replay(h); err != nil {
			b.Fatal(err)
		}
		l.ex.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(h)), "ns/event")
}

// BenchmarkCachedExecutorMemory is what a worker's executor cache holds per
// entry: a run of stepLoop after its first task, waiting for an activity —
// the executor, its coroutine's goroutine and stack. It builds b.N of them
// and reports heap and stack growth per executor, after a garbage
// collection, so the figure is live memory, not garbage.
func BenchmarkCachedExecutorMemory(b *testing.B) {
	runs := make([]*loopRun, b.N)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range runs {
		runs[i] = newLoopRun(b)
		runs[i].task(b, history.Event{Kind: history.WorkflowStarted, Name: "loop"})
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc+after.StackInuse) - int64(before.HeapAlloc+before.StackInuse)
	b.ReportMetric(float64(grown)/float64(b.N), "bytes/executor")
	for _, r := range runs {
		r.ex.Close()
	}
}
