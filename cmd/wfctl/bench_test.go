package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/bench"
	"github.com/jetflow/jetflow/streams/embedded"
)

// benchJSON runs wfctl bench with --json and decodes its report.
func benchJSON(t *testing.T, args ...string) (*bench.Report, result) {
	t.Helper()
	r := runWfctl(t, commandTimeout, append([]string{"bench"}, append(args, "--json")...)...)
	require.Equal(t, 0, r.code, r)
	var rep bench.Report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r)
	return &rep, r
}

func TestBenchSimpleJSON(t *testing.T) {
	rep, r := benchJSON(t, "simple", "-n", "50", "-c", "10", "--warmup", "5")
	assert.Equal(t, bench.Simple, rep.Workload)
	assert.Contains(t, rep.Server, "embedded")
	assert.Equal(t, 50, rep.Workflows)
	assert.Equal(t, 50, rep.Activities)
	require.NotNil(t, rep.Latency)
	assert.Equal(t, 50, rep.Latency.Count)
	assert.LessOrEqual(t, rep.Latency.P50, rep.Latency.P99)
	assert.Positive(t, rep.WorkflowsPerSecond)
	assert.Equal(t, 7.0, rep.Messages.StoredPerWorkflow)
	assert.Positive(t, rep.Messages.NATSPerWorkflow)
	assert.Positive(t, rep.CPU.PerWorkflowMicros)
	assert.Contains(t, rep.CPU.Includes, "embedded NATS server")
	require.NotNil(t, rep.Floor, "simple measures the floor by default")
	assert.Equal(t, 50, rep.Floor.Workflows)
	assert.Positive(t, rep.Efficiency)
	assert.Contains(t, r.stderr, "simple run: 50/50 workflows", "the progress goes to stderr")
	assert.Contains(t, r.stderr, "simple floor: 50/50 workflows")
}

func TestBenchWorkloads(t *testing.T) {
	for _, tc := range []struct {
		args                  []string
		workflows, activities int
	}{
		{[]string{"fanout", "--activities", "10", "-n", "2", "-c", "2"}, 2, 20},
		{[]string{"tree", "--runs", "2"}, 30, 32},
		{[]string{"tree", "--runs", "1", "--depth", "1", "--fanout", "3", "--leaffanout", "1", "--activities", "1", "--resultsize", "10"}, 7, 3},
		{[]string{"timers", "--instances", "10", "--sleep", "100ms"}, 10, 0},
		{[]string{"signals", "--instances", "10", "--cache", "3"}, 10, 0},
		{[]string{"floor", "-n", "20", "--warmup", "0"}, 20, 20},
		{[]string{"simple", "-n", "20", "--floor=false", "--observe", "watch", "--workers", "2"}, 20, 20},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			rep, _ := benchJSON(t, tc.args...)
			assert.Equal(t, bench.Workload(tc.args[0]), rep.Workload)
			assert.Equal(t, tc.workflows, rep.Workflows)
			assert.Equal(t, tc.activities, rep.Activities)
			assert.NotNil(t, rep.Latency)
			assert.Positive(t, rep.Messages.Stored)
			assert.Nil(t, rep.Floor)
		})
	}
}

func TestBenchTreeDefaults(t *testing.T) {
	rep, _ := benchJSON(t, "tree", "--runs", "1")
	require.NotNil(t, rep.Tree)
	assert.Equal(t, bench.TreeShape{Workflows: 15, Mid: 6, Leaves: 8, Activities: 16, ResultBytes: 1600}, *rep.Tree)
	assert.Equal(t, 15, rep.Workflows)
	assert.Equal(t, 16, rep.Activities)
}

func TestBenchHumanOutput(t *testing.T) {
	r := runWfctl(t, commandTimeout, "bench", "simple", "-n", "20", "-c", "5", "--warmup", "0")
	require.Equal(t, 0, r.code, r)
	for _, want := range []string{"workflows/s", "activities/s", "latency", "p99", "stored msgs", "NATS msgs", "CPU", "memory", "floor", "efficiency"} {
		assert.Contains(t, r.stdout, want)
	}
}

// A --codec list runs each codec in turn and prints them side by side, or
// a JSON array of the reports.
func TestBenchCodecList(t *testing.T) {
	r := runWfctl(t, commandTimeout, "bench", "simple", "-n", "10", "-c", "5", "--warmup", "0", "--floor=false",
		"--resultsize", "2048", "--codec", "none,zstd,aes,zstd+aes")
	require.Equal(t, 0, r.code, r)
	table := r.stdout[strings.LastIndex(r.stdout, "codec  "):]
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 5, table)
	assert.Contains(t, lines[0], "stored bytes/workflow")
	for i, name := range []string{"none", "zstd", "aes", "zstd+aes"} {
		assert.Equal(t, name, strings.Fields(lines[i+1])[0])
		assert.Contains(t, r.stdout, "== codec "+name)
	}

	j := runWfctl(t, commandTimeout, "bench", "simple", "-n", "5", "-c", "5", "--warmup", "0", "--floor=false",
		"--codec", "none,zstd", "--json")
	require.Equal(t, 0, j.code, j)
	var reps []codecReport
	require.NoError(t, json.Unmarshal([]byte(j.stdout), &reps), j)
	require.Len(t, reps, 2)
	assert.Equal(t, "zstd", reps[1].Codec)
	assert.Equal(t, 5, reps[1].Report.Workflows)
}

// TestBenchExternalServer runs against a server of its own and leaves no
// namespace behind.
func TestBenchExternalServer(t *testing.T) {
	rep, _ := benchJSON(t, "--server", natsURL, "simple", "-n", "20", "-c", "5", "--warmup", "0")
	assert.Equal(t, "external "+natsURL, rep.Server)
	assert.Equal(t, 20, rep.Workflows)
	assert.NotContains(t, rep.CPU.Includes, "NATS server", "the server runs elsewhere")
	require.NotNil(t, rep.Floor)

	nc, err := testSrv.Connect()
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for name := range js.StreamNames(ctx).Name() {
		assert.NotContains(t, name, rep.Namespace, "the benchmark's streams are removed")
		assert.NotContains(t, name, rep.Floor.Namespace, "the floor's streams are removed")
	}
}

func TestBenchInterrupted(t *testing.T) {
	p := startWfctl(t, "bench", "simple", "-n", "10000000", "--floor=false", "--warmup", "0")
	waitFor(t, "progress", func() bool { return strings.Contains(p.errOutput(), "simple run:") })
	p.signal(os.Interrupt)
	assert.Equal(t, exitInterrupted, p.wait())
}

func TestBenchUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "bench: expected WORKLOAD, got 0 arguments"},
		{[]string{"bench", "sprint"}, `unknown workload "sprint" (one of: simple, fanout, tree, timers, signals, floor)`},
		{[]string{"bench", "simple", "-c", "0"}, "bench: --concurrency must be at least 1, got 0"},
		{[]string{"bench", "simple", "-n", "many"}, `invalid value "many" for flag --n`},
		{[]string{"bench", "tree", "--depth", "-1"}, "--depth must not be negative"},
		{[]string{"bench", "fanout", "--activities", "0"}, "--activities must be at least 1 for fanout"},
		{[]string{"bench", "timers", "--sleep", "-1s"}, "--sleep must not be negative"},
		{[]string{"bench", "simple", "--observe", "peek"}, `unknown observer "peek"`},
		{[]string{"bench", "simple", "--workers", "0"}, "--workers must be at least 1"},
		{[]string{"bench", "simple", "--server", "nats://127.0.0.1:1", "--dir", "x"}, "--dir and --tcp are for the embedded server"},
		{[]string{"bench", "simple", "--bogus"}, "bench: unknown flag --bogus"},
		{[]string{"bench", "simple", "--codec", "zstd,rot13"}, `unknown codec "rot13"`},
		{[]string{"bench", "simple", "--replicas", "0"}, "each count must be a number from 1 to 5"},
		{[]string{"bench", "simple", "--replicas", "1,6", "--cluster", "3"}, "each count must be a number from 1 to 5"},
		{[]string{"bench", "simple", "--replicas", "three"}, "each count must be a number from 1 to 5"},
		{[]string{"bench", "simple", "--replicas", "3"}, "--replicas 3: the cluster has only 1 node(s)"},
		{[]string{"bench", "simple", "--replicas", "1,5", "--cluster", "3"}, "--replicas 5: the cluster has only 3 node(s)"},
		{[]string{"bench", "simple", "--cluster", "3", "--server", "nats://127.0.0.1:1"}, "--cluster starts a cluster in this process; it does not go with --server"},
		{[]string{"bench", "simple", "--cluster", "0"}, "--cluster 0: a cluster of 1 to 9 nodes"},
		{[]string{"bench", "simple", "--cluster", "3", "--tcp"}, "a --cluster is always reached over loopback TCP"},
		{[]string{"bench", "simple", "--replicas", "1,3", "--cluster", "3", "--codec", "none,zstd"}, "a list of --replicas and a list of --codec do not go together"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runWfctl(t, commandTimeout, tc.args...)
			assert.Equal(t, exitUsage, r.code, r)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestBenchHelp(t *testing.T) {
	r := runWfctl(t, commandTimeout, "bench", "--help")
	require.Equal(t, 0, r.code, r)
	for _, want := range []string{"Usage: wfctl bench WORKLOAD", "15 workflows, 16 activities", "--concurrency C", "--leaffanout", "--cpuprofile FILE", "--observe", "efficiency"} {
		assert.Contains(t, r.stdout, want)
	}
}

// --server before the command's name is a global flag like any other:
// it too sends the benchmark to that server.
func TestBenchServerBeforeTheCommand(t *testing.T) {
	r := runWfctl(t, commandTimeout, "--server", natsURL, "bench", "floor", "-n", "10", "-c", "2", "--warmup", "0", "--json")
	require.Equal(t, 0, r.code, r)
	var rep bench.Report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r)
	assert.Equal(t, "external "+natsURL, rep.Server)
}

func TestBenchUpdates(t *testing.T) {
	r := runWfctl(t, commandTimeout, "bench", "updates", "-n", "40", "-c", "4", "--instances", "4", "--json")
	require.Equal(t, 0, r.code, r)
	var rep bench.UpdatesReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r)
	require.NotNil(t, rep.RoundTrip)
	assert.Equal(t, bench.DefaultUpdatesConfig.Sequential, rep.RoundTrip.Count)
	assert.LessOrEqual(t, rep.RoundTrip.P50, rep.RoundTrip.P99)
	require.NotNil(t, rep.OneRunLatency)
	assert.Equal(t, 40, rep.OneRunLatency.Count)
	require.NotNil(t, rep.ManyRunsLatency)
	assert.Equal(t, 40, rep.ManyRunsLatency.Count)
	assert.Positive(t, rep.OneRun)
	assert.Positive(t, rep.ManyRuns)

	r = runWfctl(t, commandTimeout, "bench", "updates", "-n", "10", "-c", "2", "--instances", "2")
	require.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, "round trip")
	assert.Contains(t, r.stdout, "updates/s")
}

// TestBenchClusterReplicasList runs R1 and R3 in turn on an in-process
// cluster and checks the table and the JSON array.
func TestBenchClusterReplicasList(t *testing.T) {
	r := runWfctl(t, commandTimeout, "bench", "simple", "-n", "50", "-c", "10", "--warmup", "0",
		"--cluster", "3", "--replicas", "1,3")
	require.Equal(t, 0, r.code, r)
	table := r.stdout[strings.LastIndex(r.stdout, "replicas  "):]
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 3, table)
	assert.Contains(t, lines[0], "of R1")
	assert.Contains(t, lines[0], "floor workflows/s")
	for i, name := range []string{"R1", "R3"} {
		fields := strings.Fields(lines[i+1])
		assert.Equal(t, name, fields[0])
		assert.Len(t, fields, 7, "every column filled, the floor's too: %q", lines[i+1])
	}
	assert.Equal(t, "1.00", strings.Fields(lines[1])[2])
	assert.Contains(t, r.stdout, "== replicas 3")

	j := runWfctl(t, commandTimeout, "bench", "simple", "-n", "10", "-c", "5", "--warmup", "0",
		"--cluster", "3", "--replicas", "1,3", "--json")
	require.Equal(t, 0, j.code, j)
	var reps []replicasReport
	require.NoError(t, json.Unmarshal([]byte(j.stdout), &reps), j)
	require.Len(t, reps, 2)
	assert.Equal(t, 3, reps[1].Replicas)
	assert.Equal(t, 10, reps[1].Report.Workflows)
	require.NotNil(t, reps[1].Report.Floor)
}

// TestBenchReplicasOnCluster runs with --replicas 3 against a cluster of
// the test's own and checks that every stream of the benchmark's
// namespaces, the floor's too, really has three replicas.
func TestBenchReplicasOnCluster(t *testing.T) {
	cl, err := embedded.StartCluster(3, embedded.ClusterOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	defer cl.Shutdown()
	rep, _ := benchJSON(t, "--server", cl.ClientURLs(), "simple", "-n", "10", "-c", "5", "--warmup", "0",
		"--replicas", "3", "--keep")
	require.NotNil(t, rep.Floor)

	nc, err := cl.Connect()
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	seen := map[string]int{}
	for info := range js.ListStreams(ctx).Info() {
		for _, ns := range []string{rep.Namespace, rep.Floor.Namespace} {
			if strings.Contains(info.Config.Name, ns) {
				seen[ns]++
				assert.Equal(t, 3, info.Config.Replicas, info.Config.Name)
			}
		}
	}
	assert.NotZero(t, seen[rep.Namespace], "the engine's streams are kept")
	assert.NotZero(t, seen[rep.Floor.Namespace], "the floor's streams are kept")
}
