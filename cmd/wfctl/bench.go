package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jetflow/jetflow/internal/bench"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// optInt is an int flag whose default depends on the workload: it records
// whether it was given.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return errors.New("parse error")
	}
	o.v, o.set = int(v), true
	return nil
}

// apply sets *dst when the flag was given.
func (o *optInt) apply(dst *int) {
	if o.set {
		*dst = o.v
	}
}

func benchCommand() *command {
	var (
		workflows, concurrency, activities              optInt
		depth, fanout, leafFanout, resultSize, runs     optInt
		instances, workers, warmup                      optInt
		cache, taskSlots, activitySlots                 optInt
		sleep, retention                                time.Duration
		floor, tcp, keep, asJSON, withOTel, expiryWatch bool
		local, index                                    bool
		codecName                                       string
		replicas                                        string
		clusterSize                                     int
		observe, dir, cpuProfile                        string
		mem                                             benchMemFlags
	)
	return &command{
		name:    "bench",
		args:    "WORKLOAD",
		minArgs: 1, maxArgs: 1,
		summary: "measure throughput and latency of the engine on NATS",
		description: `
Run a workload and report workflows/s, activities/s, the latency from
start to result (p50, p95, p99, max), the JetStream messages stored per
workflow, the NATS messages per workflow, the CPU time per workflow and
the memory used. A progress line goes to stderr while it runs (rewritten
in place on a terminal); --json writes the report as JSON on stdout.

Workloads:
  schedules --workflows N schedules firing every --sleep D (1m) for --runs R (2) rounds
  simple   --workflows N one-activity workflows, --concurrency C at a time
           (defaults 10000 and 100). Measures the floor first (--floor) and
           prints the engine's efficiency: its workflows/s ÷ the floor's.
           --resultsize B: the activity returns B bytes of text (a
           repeated JSON line), which the workflow returns as its result.
           --local: the workflow runs its activity as a local activity
           (inside its workflow task, no activity task).
  updates  update round trips one at a time into one run (p50/p99), then
           --workflows N updates (default 3000), --concurrency C at a time
           (default 50), into one run and spread over --instances R runs
           (default 50): updates/s and latency under that load.
  fanout   --workflows N (default 1) workflows, each running --activities M
           (default 1000) activities in parallel.
  tree     --runs R roots (default 100, all at once unless --concurrency).
           The root is level 0; a workflow above --depth starts --fanout
           workflows of the next level, one at --depth starts --leaffanout
           leaf workflows, and each leaf runs --activities activities that
           return --resultsize bytes. Per root: 1 + fanout + … + fanout^depth
           + fanout^depth × leaffanout workflows and fanout^depth ×
           leaffanout × activities activities: with the defaults (depth 2,
           fanout 2, leaffanout 2, activities 2, resultsize 100), 1 root,
           2 + 4 mid workflows and 8 leaves = 15 workflows, 16 activities.
  timers   --instances N (default 1000) workflows that each sleep --sleep
           (default 5s) on a server timer; the latency is from each timer's
           due time to its workflow's result.
  signals  --instances N (default 1000) workflows that wait for a signal;
           once all wait (the live heap is measured then), each is
           signaled, C at a time; the latency is from signal to result.
  floor    only the floor: the JetStream operations of one-activity
           workflows (registry create, start publish, consume+ack, checked
           commit, activity publish, consume+ack, result publish,
           consume+ack, final commit, registry update) done by a minimal
           loop with no engine, with the same concurrency and stream
           configuration.

Where it runs: an embedded NATS server in this process with a file store
(--dir, default a temporary folder removed at the end), or with --server
an existing NATS server ($NATS_URL is not used: the benchmark runs where it
is told), or with --cluster N a cluster of N embedded nodes in this
process on loopback TCP (file stores in --dir or a temporary folder).
--replicas R keeps R copies of each stream the run provisions, the floor's
too (1 to 5, at most the cluster's size); --replicas 1,3 runs R1 and then
R3 on the same server or cluster and prints them side by side, with each
one's floor and its throughput as a share of the first's. Each run creates namespaces of its own (bench_<random> and, for
the floor, floor_<random>; --namespace does not apply) and deletes their
streams at the end unless --keep. --workers workers run in this process,
each with its own connection, registered with the workloads' workflows.

What the figures count:
  stored msgs   messages the namespace's streams stored (histories, inbox,
                activity tasks, registry, dead letters), from the streams'
                last sequences, per workflow (a tree counts every workflow)
  stored bytes  bytes those streams and the object store of large payloads
                hold after the run more than before, per workflow: what
                the workflows left stored (histories, registry); acked
                work-queue messages are gone and do not count
  NATS msgs     messages the benchmark's own connections (client and
                workers) sent and received, from their statistics: publishes,
                JetStream API requests and replies, acks, deliveries, notices
  CPU           this process's CPU time (getrusage), which includes the
                embedded server when there is one; use --server to see the
                client and workers alone
  memory        this process's peak resident size and Go heap, sampled
                every 250 ms (with an embedded server, its memory too);
                signals: the live heap, the goroutines and their stacks
                while every instance waits (--memprofile: who holds it)
  server        with --server-pid (and --server-store): an external
                server's resident memory and store on disk before, while
                every instance waits and at the end

Latency is measured from the start call until the result is observed, by
--observe: "result" waits for each workflow with client.GetWorkflowResult,
as an application does; "watch" sees every end in one JetStream watch of
the registry, so waiting costs the client nothing per workflow (the default
for timers, whose waits all overlap).`,
		examples: []string{
			`wfctl bench simple`,
			`wfctl bench simple -n 20000 -c 1000`,
			`wfctl bench simple -c 100 --floor=false --json | jq .latency_ms.p99`,
			`wfctl bench tree --runs 100`,
			`wfctl bench fanout --activities 1000`,
			`wfctl bench signals --instances 100000 --server nats://127.0.0.1:4222`,
			`wfctl bench timers --instances 10000 --sleep 30s`,
			`wfctl bench simple -c 1000 --cpuprofile cpu.out && go tool pprof -top cpu.out`,
			`wfctl bench simple -n 100000 --floor=false --retention 30s`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.Var(&workflows, "workflows", "`N` workflows to run (simple, floor: 10000; fanout: 1)")
			fs.Var(&workflows, "n", "`N`: same as --workflows")
			fs.Var(&concurrency, "concurrency", "`C` workflows in flight at once (simple, floor: 100; fanout: 1; tree: all roots; timers, signals: 1000 starts and waits)")
			fs.Var(&concurrency, "c", "`C`: same as --concurrency")
			fs.Var(&activities, "activities", "`M` activities per fanout workflow (1000) or per tree leaf (2)")
			fs.Var(&depth, "depth", "tree: `LEVELS` of mid workflows below the root (2)")
			fs.Var(&fanout, "fanout", "tree: `N` workflows each root or mid workflow starts (2)")
			fs.Var(&leafFanout, "leaffanout", "tree: `N` leaf workflows each last-level workflow starts (2)")
			fs.Var(&resultSize, "resultsize", "tree: `BYTES` each leaf activity returns (100); simple: its activity and workflow return BYTES of text instead of an int")
			fs.Var(&runs, "runs", "tree: `R` roots to run (100)")
			fs.Var(&instances, "instances", "timers, signals: `N` waiting workflows (1000)")
			fs.DurationVar(&sleep, "sleep", bench.DefaultSleep, "timers: how long `D` each workflow sleeps")
			fs.DurationVar(&retention, "retention", 0, "the workers' retention `D` (streams.WithRetention); simple then waits until every instance is removed and reports the removals' lateness")
			fs.BoolVar(&expiryWatch, "expiry-watch", true, "simple with --retention: watch the registry to wait for and time the removals (=false: the run's figures without the watch's cost)")
			fs.BoolVar(&index, "index", true, "keep the list index (=false: streams.WithListIndex(false), to measure what the index costs)")
			fs.Var(&workers, "workers", "`N` workers in this process (1)")
			fs.Var(&warmup, "warmup", "simple, floor: `N` workflows run first and not counted (100)")
			fs.BoolVar(&floor, "floor", true, "simple: measure the floor too and print the efficiency")
			fs.BoolVar(&local, "local", false, "simple: run the activity as a local activity (workflow.ExecuteLocalActivity)")
			fs.StringVar(&observe, "observe", "", "`HOW` workflow ends are seen: result (GetWorkflowResult each) or watch (one registry watch); timers: watch, others: result")
			fs.Var(&cache, "cache", "`N` executors each worker caches (the worker's default: 4096)")
			fs.Var(&taskSlots, "task-slots", "`N` workflow tasks each worker runs at once (the worker's default)")
			fs.Var(&activitySlots, "activity-slots", "`N` activities each worker runs at once (the worker's default)")
			fs.StringVar(&dir, "dir", "", "embedded server: file store `DIR` (default: a temporary folder, removed)")
			fs.BoolVar(&tcp, "tcp", false, "embedded server: connect through loopback TCP instead of in-process pipes")
			fs.BoolVar(&keep, "keep", false, "leave the benchmark's namespaces in place")
			fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the measured phase to `FILE`")
			fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
			fs.BoolVar(&withOTel, "otel", false, "turn OpenTelemetry on (every trace sampled and exported to nowhere, metrics aggregated) to measure its cost")
			fs.StringVar(&replicas, "replicas", "", "`R` copies of each stream of the namespaces it provisions (1 to 5, at most the cluster's size); a comma-separated list (1,3) runs each in turn on one server or cluster and prints a table")
			fs.IntVar(&clusterSize, "cluster", 0, "start a cluster of `N` embedded nodes on loopback in this process (file stores in --dir or a temporary folder) instead of one embedded server; not with --server")
			mem.register(fs)
			fs.StringVar(&codecName, "codec", "none", "payload codec `C`: none, zstd, aes (AES-256-GCM, a random key) or zstd+aes; a comma-separated list runs each in turn on one server and prints a table")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if args[0] == updatesWorkload {
				return benchUpdates(ctx, a, updatesFlags{workflows, concurrency, instances, dir, tcp, asJSON})
			}
			if args[0] == "schedules" { // bench_schedules.go: -n schedules, --runs rounds, --sleep interval
				return runScheduleBench(ctx, a.stdout, scheduleBenchConfig{n: workflows.or(10000), rounds: runs.or(2), every: cmp.Or(sleep, time.Minute), asJSON: asJSON, cpuProfile: cpuProfile}, a.stderr)
			}
			w := bench.Workload(args[0])
			if err := oneOf("workload", w, bench.Workloads); err != nil {
				return err
			}
			cfg := bench.DefaultConfig(w)
			workflows.apply(&cfg.Workflows)
			activities.apply(&cfg.Activities)
			depth.apply(&cfg.Depth)
			fanout.apply(&cfg.Fanout)
			leafFanout.apply(&cfg.LeafFanout)
			resultSize.apply(&cfg.ResultSize)
			runs.apply(&cfg.Runs)
			instances.apply(&cfg.Instances)
			workers.apply(&cfg.Workers)
			warmup.apply(&cfg.Warmup)
			cache.apply(&cfg.CacheSize)
			taskSlots.apply(&cfg.TaskSlots)
			activitySlots.apply(&cfg.ActivitySlots)
			if w == bench.Tree {
				cfg.Concurrency = cfg.Runs
			}
			concurrency.apply(&cfg.Concurrency)
			cfg.Sleep, cfg.Floor, cfg.Keep = sleep, floor && w == bench.Simple, keep
			cfg.Retention, cfg.NoExpiryWatch = retention, !expiryWatch
			cfg.Local = local
			if observe != "" {
				cfg.Observe = bench.Observer(observe)
			}
			if err := cfg.Check(); err != nil {
				return usageErrorf("bench: %v", err)
			}
			external := a.given["server"]
			if external && (dir != "" || tcp) {
				return usageErrorf("bench: --dir and --tcp are for the embedded server; they do not go with --server")
			}
			if external && a.given["cluster"] {
				return usageErrorf("bench: --cluster starts a cluster in this process; it does not go with --server")
			}
			if a.given["cluster"] && (clusterSize < 1 || clusterSize > 9) {
				return usageErrorf("bench: --cluster %d: a cluster of 1 to 9 nodes", clusterSize)
			}
			if a.given["cluster"] && tcp {
				return usageErrorf("bench: --tcp is for the embedded server; a --cluster is always reached over loopback TCP")
			}
			cfg.Logger = a.log
			codecs, err := benchCodecs(codecName)
			if err != nil {
				return usageErrorf("bench: %v", err)
			}
			var replicaCounts []int
			if replicas != "" {
				known := clusterSize
				if !a.given["cluster"] && !external {
					known = 1 // the one embedded server
				}
				if replicaCounts, err = benchReplicaCounts(replicas, known); err != nil {
					return usageErrorf("bench: %v", err)
				}
				if len(replicaCounts) > 1 && len(codecs) > 1 {
					return usageErrorf("bench: a list of --replicas and a list of --codec do not go together; give one of them a single value")
				}
				if len(replicaCounts) == 1 {
					cfg = withReplicas(cfg, replicaCounts[0])
				}
			}
			if len(codecs) == 1 {
				cfg.Streams = append(cfg.Streams, codecs[0].opts...)
			}
			if !index {
				cfg.Streams = append(cfg.Streams, streams.WithListIndex(false))
			}

			target := bench.Target{Dir: dir, TCP: tcp, Logger: a.log}
			if external {
				opts, err := a.g.natsOptions()
				if err != nil {
					return err
				}
				target.URL, target.NATSOptions = a.g.server, opts
			}
			if a.given["cluster"] {
				fmt.Fprintf(a.stderr, "starting a cluster of %d embedded nodes\n", clusterSize)
				cl, err := embedded.StartCluster(clusterSize, embedded.ClusterOptions{Dir: dir, Name: "wfctl-bench"})
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				defer cl.Shutdown()
				target = bench.Target{URL: cl.ClientURLs(), Logger: a.log}
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				defer f.Close()
				cfg.CPUProfile = f
			}
			closeMem, err := mem.apply(&cfg, external)
			if err != nil {
				return err
			}
			defer closeMem()
			if withOTel {
				defer benchTelemetry()()
			}
			p := newProgressLine(a.stderr, w)
			cfg.Progress, cfg.ProgressInterval = p.show, p.interval
			env, err := bench.Open(target)
			if err != nil {
				return err
			}
			defer env.Close()
			fmt.Fprintf(a.stderr, "bench %s on %s\n", w, env.Describe())
			if len(replicaCounts) > 1 {
				return benchEachReplicas(ctx, a, env, cfg, replicaCounts, func() *progressLine { return newProgressLine(a.stderr, w) }, asJSON)
			}
			if len(codecs) > 1 {
				return benchEachCodec(ctx, a, env, cfg, codecs, func() *progressLine { return newProgressLine(a.stderr, w) }, asJSON)
			}
			rep, err := bench.Run(ctx, env, cfg)
			p.end()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("bench %s: %w", w, err)
			}
			if asJSON {
				return writeJSON(a.stdout, rep)
			}
			printReport(a.stdout, rep)
			return nil
		},
	}
}

// progressLine shows a run's progress on stderr: rewritten in place on a
// terminal, a line a second otherwise.
type progressLine struct {
	w        io.Writer
	workload bench.Workload
	tty      bool
	interval time.Duration

	mu       sync.Mutex
	phase    string
	lastDone int64
	lastAt   time.Duration
	width    int
	complete bool // the phase's last line is out
}

func newProgressLine(w io.Writer, workload bench.Workload) *progressLine {
	p := &progressLine{w: w, workload: workload, interval: time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.interval = true, 250*time.Millisecond
		}
	}
	return p
}

func (p *progressLine) show(pr bench.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Phase != p.phase {
		if p.tty && p.width > 0 {
			fmt.Fprintln(p.w)
			p.width = 0
		}
		p.phase, p.lastDone, p.lastAt, p.complete = pr.Phase, 0, 0, false
	}
	if p.complete {
		return // a finished phase waits for the next one
	}
	p.complete = pr.Done == pr.Total
	current := 0.0
	if dt := pr.Elapsed - p.lastAt; dt > 0 {
		current = float64(pr.Done-p.lastDone) / dt.Seconds()
	}
	p.lastDone, p.lastAt = pr.Done, pr.Elapsed
	pct := 0.0
	if pr.Total > 0 {
		pct = 100 * float64(pr.Done) / float64(pr.Total)
	}
	line := fmt.Sprintf("%s %s: %d/%d %s (%.0f%%)  %.0f/s  %s",
		p.workload, pr.Phase, pr.Done, pr.Total, pr.Unit, pct, current, pr.Elapsed.Round(100*time.Millisecond))
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// end finishes the line on a terminal.
func (p *progressLine) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.width > 0 {
		fmt.Fprintln(p.w)
		p.width = 0
	}
}

// printReport writes a report for people.
func printReport(w io.Writer, r *bench.Report) {
	fmt.Fprintf(w, "%s on %s\n", r.Workload, r.Server)
	fmt.Fprintf(w, "  parameters      %s\n", formatParams(r))
	if r.Tree != nil {
		fmt.Fprintf(w, "  tree            %d workflows (1 root, %d mid, %d leaves) and %d activities per root\n",
			r.Tree.Workflows, r.Tree.Mid, r.Tree.Leaves, r.Tree.Activities)
	}
	printFigures(w, r, "  ")
	for _, ph := range r.Phases {
		line := fmt.Sprintf("  phase %-9s %d in %.2fs", ph.Name, ph.Count, ph.Seconds)
		if ph.PerSecond > 0 {
			line += fmt.Sprintf(" = %.1f/s", ph.PerSecond)
		}
		if ph.Latency != nil {
			line += fmt.Sprintf("; from %s: %s", ph.LatencyFrom, formatLatency(ph.Latency))
		}
		fmt.Fprintln(w, line)
	}
	if f := r.Floor; f != nil {
		fmt.Fprintf(w, "floor (the same JetStream operations, no engine)\n")
		printFigures(w, f, "  ")
		fmt.Fprintf(w, "efficiency        %.2f (engine %.1f workflows/s ÷ floor %.1f workflows/s)\n",
			r.Efficiency, r.WorkflowsPerSecond, f.WorkflowsPerSecond)
	}
}

func printFigures(w io.Writer, r *bench.Report, in string) {
	span := "in"
	if len(r.Phases) > 0 {
		span = "from the first start to the last result in"
	}
	fmt.Fprintf(w, "%sworkflows/s     %.1f  (%d workflows %s %.2fs)\n", in, r.WorkflowsPerSecond, r.Workflows, span, r.ElapsedSeconds)
	if r.Activities > 0 {
		fmt.Fprintf(w, "%sactivities/s    %.1f  (%d activities)\n", in, r.ActivitiesPerSecond, r.Activities)
	}
	if r.Latency != nil {
		fmt.Fprintf(w, "%slatency         %s  (from %s to result, %d measured)\n", in, formatLatency(r.Latency), r.LatencyFrom, r.Latency.Count)
	}
	m := r.Messages
	var by []string
	for _, k := range []string{"history", "tasks", "activities", "registry", "dead"} {
		if v := m.StoredByStream[k]; v > 0 {
			by = append(by, fmt.Sprintf("%s %.2f", k, v))
		}
	}
	fmt.Fprintf(w, "%sstored msgs     %.2f per workflow (%s)\n", in, m.StoredPerWorkflow, strings.Join(by, ", "))
	by = by[:0]
	for _, k := range []string{"history", "registry", "payloads", "tasks", "activities", "dead"} {
		if v := m.StoredBytesByStream[k]; v != 0 {
			by = append(by, fmt.Sprintf("%s %.0f", k, v))
		}
	}
	fmt.Fprintf(w, "%sstored bytes    %.0f per workflow (%s)\n", in, m.StoredBytesPerWorkflow, strings.Join(by, ", "))
	fmt.Fprintf(w, "%sNATS msgs       %.1f per workflow (in and out of this process's connections)\n", in, m.NATSPerWorkflow)
	fmt.Fprintf(w, "%sCPU             %.0f µs per workflow, %.0f%% of one core (%s)\n", in, r.CPU.PerWorkflowMicros, r.CPU.UtilisationPercent, r.CPU.Includes)
	mem := fmt.Sprintf("peak RSS %s, peak heap %s", formatBytes(r.Memory.PeakRSSBytes), formatBytes(r.Memory.PeakHeapBytes))
	if r.Memory.WaitingLiveHeapBytes > 0 {
		mem += fmt.Sprintf("; while all waited: live heap %s, RSS %s", formatBytes(r.Memory.WaitingLiveHeapBytes), formatBytes(r.Memory.WaitingRSSBytes))
		if r.Memory.WaitingGoroutines > 0 {
			mem += fmt.Sprintf(", stacks %s in %d goroutines", formatBytes(r.Memory.WaitingStackBytes), r.Memory.WaitingGoroutines)
		}
	}
	fmt.Fprintf(w, "%smemory          %s (%s)\n", in, mem, r.Memory.Includes)
	printServerMemory(w, r, in)
}

func formatLatency(l *bench.Latency) string {
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s", formatMillis(l.P50), formatMillis(l.P95), formatMillis(l.P99), formatMillis(l.Max))
}

func formatMillis(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2fs", ms/1000)
	}
	return fmt.Sprintf("%.1fms", ms)
}

func formatBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
}

// formatParams lists a report's parameters, in a fixed order.
func formatParams(r *bench.Report) string {
	var parts []string
	for _, k := range []string{"workflows", "runs", "instances", "concurrency", "activities", "depth", "fanout", "leaffanout", "resultsize", "sleep", "warmup", "cache", "task_slots", "activity_slots", "retention", "local"} {
		if v, ok := r.Params[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", k, v))
		}
	}
	parts = append(parts, fmt.Sprintf("workers %d", max(r.Workers, 1)), "observe "+string(r.Observe))
	return strings.Join(parts, ", ")
}
