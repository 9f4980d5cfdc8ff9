package faults

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
)

// spanLine is a span as testworker -spans writes it.
type spanLine struct {
	TraceID  string `json:"trace_id"`
	SpanID   string `json:"span_id"`
	ParentID string `json:"parent_id"`
	Name     string `json:"name"`
}

// readSpans reads a worker's spans file; a line cut by a kill is skipped.
func readSpans(t *testing.T, path string) []spanLine {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []spanLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s spanLine
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

func named(spans []spanLine, prefix string) []spanLine {
	var out []spanLine
	for _, s := range spans {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// TestTraceAcrossProcesses starts Flow from this process inside a span and
// runs it on a worker process, which is killed while Flow sleeps on its
// timer; a second worker process finishes the run. Both processes write
// their spans to files: every span of both is in the trace of the test's
// span, the tasks of both hang from the client's start span (the trace
// context came through NATS and the history, not memory), and the second
// worker's spans cover the timer and the signal it took after the crash.
func TestTraceAcrossProcesses(t *testing.T) {
	_, e := newLocalEnv(t, "trace", 2*time.Second)
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	c := client.New(testenv.Backend(t, e.nc, streams.WithNamespace(e.ns), streams.WithAckWait(e.cfg.ackWait), streams.WithTracerProvider(tp)))

	dir := t.TempDir()
	spansA, spansB := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	procs := newProcSet(t, e.cfg)
	a := procs.start("a", func(c *workerConfig) { c.spans = spansA })

	ctx := testenv.Context(t, 60*time.Second)
	ctx, root := tp.Tracer("test").Start(ctx, "root")
	in := Input{N: 7, Signals: 1, Timer: 4 * time.Second}
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "traced-flow"}, Flow, in)
	require.NoError(t, err)
	root.End()
	traceID := root.SpanContext().TraceID().String()

	// The three activities ran on a: the run now sleeps on its timer.
	testenv.WaitFor(t, 30*time.Second, "worker a ran the three activities", func() bool {
		return len(named(readSpans(t, spansA), "RunActivity ")) >= 3
	})
	a.kill()
	procs.start("b", func(c *workerConfig) { c.spans = spansB })
	require.NoError(t, c.SignalWorkflow(ctx, inst.InstanceID, SignalName, SignalValue(in.N, 1)))
	res, err := client.GetWorkflowResult[Result](ctx, c, inst, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, res.Signals, 1)

	var startID string
	for _, s := range recorder.Ended() {
		if s.Name() == "StartWorkflow Flow" {
			startID = s.SpanContext().SpanID().String()
		}
	}
	require.NotEmpty(t, startID, "the client recorded its start span")

	var fromA, fromB []spanLine
	testenv.WaitFor(t, 10*time.Second, "worker b's spans of the rest of the run", func() bool {
		fromA, fromB = readSpans(t, spansA), readSpans(t, spansB)
		return len(named(fromB, "Timer")) == 1 && len(named(fromB, "ReceiveSignal ")) == 1
	})
	for _, s := range append(append([]spanLine{}, fromA...), fromB...) {
		assert.Equal(t, traceID, s.TraceID, "span %s is in the test's trace", s.Name)
	}
	tasksA, tasksB := named(fromA, "WorkflowTask Flow"), named(fromB, "WorkflowTask Flow")
	require.NotEmpty(t, tasksA)
	require.NotEmpty(t, tasksB, "the worker that took over after the crash traced its tasks")
	for _, s := range append(tasksA, tasksB...) {
		assert.Equal(t, startID, s.ParentID, "a task hangs from the client's start span")
	}
	taskIDs := map[string]bool{}
	for _, s := range tasksA {
		taskIDs[s.SpanID] = true
	}
	for _, s := range named(fromA, "RunActivity ") {
		assert.True(t, taskIDs[s.ParentID], "activity span %s hangs from a task of worker a", s.Name)
	}
}
