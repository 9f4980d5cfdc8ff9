package bench

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/streams"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p95 of four is the last", ms(1, 2, 3, 4), 95, 4 * time.Millisecond},
		{"p25 of four", ms(1, 2, 3, 4), 25, 1 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p99.9 of 1..100 is the max", hundred, 99.9, 100 * time.Millisecond},
		{"p100", hundred, 100, 100 * time.Millisecond},
		{"p0 is the min", hundred, 0, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Percentile(tc.sorted, tc.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	assert.Nil(t, Summarize(nil))
	ds := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 1500 * time.Microsecond}
	l := Summarize(ds)
	assert.Equal(t, &Latency{Count: 5, Mean: 2.3, P50: 2, P95: 4, P99: 4, Max: 4}, l)
	assert.True(t, slices.IsSorted(ds), "sorted in place")
}

// treeCount walks a tree the way the workflows build it.
func treeCount(c Config, level int) (workflows, activities int) {
	workflows = 1
	if level < c.Depth {
		for range c.Fanout {
			w, a := treeCount(c, level+1)
			workflows, activities = workflows+w, activities+a
		}
		return workflows, activities
	}
	return workflows + c.LeafFanout, c.LeafFanout * c.Activities
}

func TestTreeShape(t *testing.T) {
	c := DefaultConfig(Tree)
	assert.Equal(t, TreeShape{Workflows: 15, Mid: 6, Leaves: 8, Activities: 16, ResultBytes: 1600}, c.TreeShape(),
		"the defaults: 15 workflows and 16 activities per root")

	for _, shape := range [][4]int{{0, 2, 3, 1}, {1, 1, 1, 1}, {3, 3, 2, 4}, {2, 5, 1, 0}, {4, 2, 2, 2}} {
		c := DefaultConfig(Tree)
		c.Depth, c.Fanout, c.LeafFanout, c.Activities = shape[0], shape[1], shape[2], shape[3]
		w, a := treeCount(c, 0)
		s := c.TreeShape()
		assert.Equal(t, w, s.Workflows, "workflows of %v", shape)
		assert.Equal(t, a, s.Activities, "activities of %v", shape)
		assert.Equal(t, s.Workflows, 1+s.Mid+s.Leaves, "%v", shape)
	}

	c.Depth, c.Fanout = 40, 10
	assert.ErrorContains(t, c.Check(), "at most 1,000,000", "a tree too large to run")
}

func TestConfigCheck(t *testing.T) {
	for _, w := range Workloads {
		c := DefaultConfig(w)
		assert.NoError(t, c.Check(), "defaults of %s", w)
	}
	for _, tc := range []struct {
		change func(c *Config)
		want   string
	}{
		{func(c *Config) { c.Workload = "nope" }, `unknown workload "nope"`},
		{func(c *Config) { c.Workflows = 0 }, "--workflows must be at least 1"},
		{func(c *Config) { c.Concurrency = -1 }, "--concurrency must be at least 1"},
		{func(c *Config) { c.Workers = 0 }, "--workers must be at least 1"},
		{func(c *Config) { c.Depth = -1 }, "--depth must not be negative"},
		{func(c *Config) { c.Sleep = -time.Second }, "--sleep must not be negative"},
		{func(c *Config) { c.Observe = "peek" }, `unknown observer "peek"`},
		{func(c *Config) { c.ResultSize = 1 << 20 }, "--resultsize 1048576 is over 512 KiB"},
		{func(c *Config) { c.Workload, c.Activities = Fanout, 0 }, "--activities must be at least 1 for fanout"},
	} {
		c := DefaultConfig(Simple)
		tc.change(&c)
		assert.ErrorContains(t, c.Check(), tc.want)
	}
}

// testEnv is one embedded server for the package's tests.
var (
	envOnce sync.Once
	envErr  error
	env     *Env
)

func testEnv(tb testing.TB) *Env {
	tb.Helper()
	// The server's warnings go to stderr: they say why a stream could
	// not be created, which the API error does not.
	envOnce.Do(func() { env, envErr = Open(Target{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}) })
	require.NoError(tb, envErr)
	return env
}

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		env.Close()
	}
	os.Exit(code)
}

// TestNamespaceStreams checks the stream names the benchmark counts and
// removes against what streams.New provisions.
func TestNamespaceStreams(t *testing.T) {
	e := testEnv(t)
	nc, err := e.connect("test")
	require.NoError(t, err)
	defer nc.Close()
	ns := newNamespace("names")
	b, err := streams.New(nc, streams.WithNamespace(ns))
	require.NoError(t, err)
	ctx := testContext(t)
	var provisioned []string
	for name := range b.JetStream().StreamNames(ctx).Name() {
		if streamOf(name, ns) {
			provisioned = append(provisioned, name)
		}
	}
	assert.ElementsMatch(t, provisioned, append(slices.Collect(maps.Values(namespaceStreams(ns))), indexStreams(ns)...))

	require.NoError(t, removeNamespace(ctx, b.JetStream(), ns))
	for name := range b.JetStream().StreamNames(ctx).Name() {
		assert.False(t, streamOf(name, ns), "%s left after removal", name)
	}
}

// streamOf reports whether a stream's name mentions the namespace.
func streamOf(name, ns string) bool {
	for i := 0; i+len(ns) <= len(name); i++ {
		if name[i:i+len(ns)] == ns {
			return true
		}
	}
	return false
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// small is a configuration small enough for a unit test.
func small(w Workload) Config {
	c := DefaultConfig(w)
	c.Workflows, c.Concurrency, c.Warmup = 20, 5, 0
	c.Runs = 2
	c.Instances = 20
	c.Sleep = 200 * time.Millisecond
	if w == Fanout {
		c.Workflows, c.Concurrency, c.Activities = 2, 2, 10
	}
	return c
}

func run(t *testing.T, c Config) *Report {
	t.Helper()
	var mu sync.Mutex
	var seen []Progress
	c.ProgressInterval = 10 * time.Millisecond
	c.Progress = func(p Progress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}
	r, err := Run(testContext(t), testEnv(t), c)
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range seen {
		assert.LessOrEqual(t, p.Done, p.Total, "progress of phase %s", p.Phase)
	}
	assert.Positive(t, r.ElapsedSeconds)
	assert.Positive(t, r.WorkflowsPerSecond)
	assert.Positive(t, r.CPU.Seconds)
	assert.Positive(t, r.Messages.NATS)
	assert.Positive(t, r.Memory.PeakHeapBytes)
	return r
}

// simpleWrites are the messages one one-activity workflow stores, by
// stream: two commits, the start and the result in the inbox, the
// activity task, the registry's create and update.
var simpleWrites = map[string]float64{"history": 2, "tasks": 2, "activities": 1, "dead": 0, "registry": 2}

func TestSimple(t *testing.T) {
	r := run(t, small(Simple))
	assert.Equal(t, 20, r.Workflows)
	assert.Equal(t, 20, r.Activities)
	require.NotNil(t, r.Latency)
	assert.Equal(t, 20, r.Latency.Count)
	assert.Equal(t, simpleWrites, r.Messages.StoredByStream)
	assert.Equal(t, 7.0, r.Messages.StoredPerWorkflow)

	require.NotNil(t, r.Floor, "simple measures the floor too")
	assert.Equal(t, Floor, r.Floor.Workload)
	assert.Equal(t, 20, r.Floor.Workflows)
	assert.Equal(t, simpleWrites, r.Floor.Messages.StoredByStream, "the floor stores what the engine stores")
	assert.Positive(t, r.Efficiency)
}

// Simple with --local runs its activity inside the workflow task: one
// commit, the start in the inbox, the registry's create and update; no
// activity task, no result message.
func TestSimpleLocal(t *testing.T) {
	c := small(Simple)
	c.Local, c.Floor = true, false
	r := run(t, c)
	assert.Equal(t, 20, r.Workflows)
	assert.Equal(t, 20, r.Activities)
	assert.Equal(t, map[string]float64{"history": 1, "tasks": 1, "activities": 0, "dead": 0, "registry": 2}, r.Messages.StoredByStream)
	assert.Equal(t, 4.0, r.Messages.StoredPerWorkflow)
	assert.Equal(t, true, r.Params["local"])
}

// Simple with --resultsize stores the text result (in the history twice:
// the activity's and the workflow's, and in the registry), and a
// compressing codec stores much less of it.
func TestSimpleResultSizeStoredBytes(t *testing.T) {
	const size = 20 << 10
	stored := map[string]float64{}
	for name, opts := range map[string][]streams.Option{
		"none": nil,
		"zstd": {streams.WithCodec(codec.Zstd())},
	} {
		c := small(Simple)
		c.Floor, c.ResultSize, c.Streams = false, size, opts
		r := run(t, c)
		assert.Equal(t, size, r.Params["resultsize"])
		stored[name] = r.Messages.StoredBytesPerWorkflow
		assert.Positive(t, r.Messages.StoredBytesByStream["history"], name)
	}
	assert.Greater(t, stored["none"], 2.0*size, "the result is in the history twice")
	assert.Less(t, stored["zstd"], stored["none"]/5, "zstd stores the repeated text in far fewer bytes")
}

func TestSimpleWatchObserverWithWarmup(t *testing.T) {
	c := small(Simple)
	c.Observe, c.Warmup, c.Floor, c.Workers = ObserveWatch, 10, false, 2
	r := run(t, c)
	assert.Equal(t, 20, r.Workflows)
	assert.Equal(t, 20, r.Latency.Count)
	assert.Equal(t, simpleWrites, r.Messages.StoredByStream, "the warm-up is not counted")
	assert.Nil(t, r.Floor)
}

func TestFloor(t *testing.T) {
	r := run(t, small(Floor))
	assert.Equal(t, 20, r.Workflows)
	assert.Equal(t, 20, r.Latency.Count)
	assert.Equal(t, simpleWrites, r.Messages.StoredByStream)
}

func TestFanout(t *testing.T) {
	r := run(t, small(Fanout))
	assert.Equal(t, 2, r.Workflows)
	assert.Equal(t, 20, r.Activities)
	assert.Equal(t, 2, r.Latency.Count)
	assert.Equal(t, 10.0, r.Messages.StoredByStream["activities"])
}

func TestTree(t *testing.T) {
	r := run(t, small(Tree))
	require.NotNil(t, r.Tree)
	assert.Equal(t, 15, r.Tree.Workflows)
	assert.Equal(t, 16, r.Tree.Activities)
	assert.Equal(t, 30, r.Workflows, "two roots of 15 workflows")
	assert.Equal(t, 32, r.Activities)
	assert.Equal(t, 2, r.Latency.Count, "one latency per root")
	assert.Equal(t, 2.0, r.Messages.StoredByStream["registry"], "every workflow of the trees is registered and finished")
}

func TestTimers(t *testing.T) {
	r := run(t, small(Timers))
	assert.Equal(t, 20, r.Workflows)
	require.Len(t, r.Phases, 2)
	assert.Equal(t, "start", r.Phases[0].Name)
	assert.Equal(t, "wake", r.Phases[1].Name)
	assert.Equal(t, 20, r.Latency.Count)
	assert.Equal(t, "the timer's due time", r.LatencyFrom)
}

func TestSignals(t *testing.T) {
	c := small(Signals)
	c.CacheSize = 5 // most instances are evicted while they wait, and replay when woken
	r := run(t, c)
	assert.Equal(t, 20, r.Workflows)
	require.Len(t, r.Phases, 3)
	assert.Equal(t, []string{"start", "wait", "wake"}, []string{r.Phases[0].Name, r.Phases[1].Name, r.Phases[2].Name})
	assert.Equal(t, 20, r.Latency.Count)
	assert.Positive(t, r.Memory.WaitingLiveHeapBytes)
}

func TestRunChecksTheConfig(t *testing.T) {
	c := small(Simple)
	c.Concurrency = 0
	_, err := Run(context.Background(), nil, c)
	assert.ErrorContains(t, err, "--concurrency must be at least 1")
}

// The Go benchmarks run the workloads on an embedded server:
//
//	go test -run '^$' -bench . -benchtime 5000x ./internal/bench
//
// b.N is the number of workflows (tree: of roots). Besides ns/op (which
// includes setting up a namespace and a worker) they report the
// benchmark's own figures.

func benchmarkWorkload(b *testing.B, c Config) {
	c.Concurrency = min(c.Concurrency, b.N)
	rep, err := Run(context.Background(), testEnv(b), c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rep.WorkflowsPerSecond, "wf/s")
	b.ReportMetric(rep.ActivitiesPerSecond, "act/s")
	if rep.Latency != nil {
		b.ReportMetric(rep.Latency.P50, "p50-ms")
		b.ReportMetric(rep.Latency.P99, "p99-ms")
	}
	b.ReportMetric(rep.Messages.StoredPerWorkflow, "stored/wf")
	b.ReportMetric(rep.CPU.PerWorkflowMicros, "cpu-µs/wf")
}

func BenchmarkSimple(b *testing.B) {
	c := DefaultConfig(Simple)
	c.Workflows, c.Warmup, c.Floor = b.N, 0, false
	benchmarkWorkload(b, c)
}

func BenchmarkFloor(b *testing.B) {
	c := DefaultConfig(Floor)
	c.Workflows, c.Warmup = b.N, 0
	benchmarkWorkload(b, c)
}

func BenchmarkTree(b *testing.B) {
	c := DefaultConfig(Tree)
	c.Runs = b.N
	benchmarkWorkload(b, c)
}
