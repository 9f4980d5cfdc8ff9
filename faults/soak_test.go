package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

// TestClusterSoak is the soak of issue 23: a 3-node cluster of testnode
// processes with every stream R3, several worker processes, and two
// workloads at once: Flow (activities, a durable timer, signals) and Chain
// (child workflows, continue-as-new, updates whose handler runs an
// activity). Through the run, interleaved: worker processes SIGKILLed and
// started again, nodes restarted gracefully, the node leading the most
// streams SIGKILLed and started again, and once the whole cluster stopped
// and started (the workers reconnect by themselves). Then the audit: every
// workflow finished with exactly the right result, no activity completed
// twice in a history, every signal in its history once, every update
// applied once with the right answer, every child ran once, every chain
// has all its runs, linked in order.
//
// The CI version is small; -soak runs the size (10,000 workflows,
// 100 worker SIGKILLs, 10 node restarts, 3 leader SIGKILLs, one
// full-cluster restart). The last log line sums it up.
func TestClusterSoak(t *testing.T) {
	rng := testRand(t)
	var (
		nFlows       = scale(150, 7000)
		nChains      = scale(60, 3000)
		nSignals     = 3
		nUpdates     = scale(2, 3)
		hops         = 2
		period       = scale(30*time.Second, 20*time.Minute)
		workerKills  = scale(8, 100)
		nodeRestarts = scale(2, 10)
		leaderKills  = scale(1, 3)
		nWorkers     = scale(3, 4)
		ackWait      = 2 * time.Second
	)
	ctx := testContext(t, scale(4*time.Minute, 150*time.Minute))
	began := time.Now()
	cl := startProcCluster(t)
	nc, err := cl.connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	e := newEnv(t, nc, cl.urls(), newNamespace("soak"), ackWait, 3)
	ps := newProcSet(t, e.cfg)
	workers := make([]*proc, nWorkers)
	startWorker := func(i int) {
		name := fmt.Sprintf("w%d", i)
		if i == nWorkers-1 {
			workers[i] = ps.start(name, noCache) // one worker replays every task
			return
		}
		workers[i] = ps.start(name)
	}
	for i := range workers {
		startWorker(i)
	}

	flows := newFlows(rng, nFlows, nSignals)
	chains := newChains(nChains, hops, nUpdates)
	var us updateStats
	sentFlows := e.drive(ctx, rng, flows, period, e.signalIdempotent)
	sentChains := e.driveChains(ctx, rng, chains, period, &us)

	// The faults, on one timeline: worker kills anywhere in the period,
	// node faults spread evenly. Each node fault waits until the cluster
	// has every stream's replicas current again before the next one, so
	// the faults test jetflow and not a cluster left without a quorum.
	type fault struct {
		at   time.Duration
		kind string
	}
	var faults []fault
	for range workerKills {
		faults = append(faults, fault{at: time.Duration(rng.Int64N(int64(period))), kind: "worker"})
	}
	var nodeFaults []string
	for range nodeRestarts {
		nodeFaults = append(nodeFaults, "restart")
	}
	for range leaderKills {
		nodeFaults = append(nodeFaults, "leader")
	}
	nodeFaults = append(nodeFaults, "full")
	rng.Shuffle(len(nodeFaults), func(i, j int) { nodeFaults[i], nodeFaults[j] = nodeFaults[j], nodeFaults[i] })
	step := period / time.Duration(len(nodeFaults)+1)
	for i, k := range nodeFaults {
		jitter := time.Duration(rng.Int64N(int64(step/2))) - step/4
		faults = append(faults, fault{at: step*time.Duration(i+1) + jitter, kind: k})
	}
	slices.SortStableFunc(faults, func(a, b fault) int { return int(a.at - b.at) })

	var counts soakCounts
	workStart := time.Now()
	for _, f := range faults {
		if d := time.Until(workStart.Add(f.at)); d > 0 {
			time.Sleep(d)
		}
		switch f.kind {
		case "worker":
			i := rng.IntN(nWorkers)
			workers[i].kill()
			counts.workerKills++
			if rng.IntN(4) == 0 { // sometimes the others must take over a while
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			}
			startWorker(i)
		case "restart":
			i := rng.IntN(3)
			t.Logf("%s: restarting node %s", since(workStart), cl.nodeName(i))
			require.NoError(t, cl.nodes[i].p.stop(time.Minute))
			time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
			require.NoError(t, cl.restore(i))
			counts.nodeRestarts++
		case "leader":
			leaders := streamLeaders(t, ctx, e)
			i := cl.nodeIndex(pickVictim(leaders))
			require.GreaterOrEqual(t, i, 0, "stream leaders %v", leaders)
			t.Logf("%s: SIGKILL of node %s (stream leaders %v)", since(workStart), cl.nodeName(i), leaders)
			require.NoError(t, cl.lose(i))
			time.Sleep(time.Duration(2000+rng.IntN(3000)) * time.Millisecond)
			require.NoError(t, cl.restore(i))
			counts.leaderKills++
		case "full":
			t.Logf("%s: stopping the whole cluster", since(workStart))
			for _, i := range rng.Perm(3) {
				require.NoError(t, cl.nodes[i].p.stop(time.Minute))
			}
			time.Sleep(time.Duration(1000+rng.IntN(3000)) * time.Millisecond)
			for i := range cl.nodes {
				require.NoError(t, cl.start(i))
			}
			require.NoError(t, cl.waitForJetStream())
			counts.fullRestarts++
			t.Logf("%s: the cluster is back", since(workStart))
		}
		if f.kind != "worker" {
			waitReplicasCurrent(t, ctx, e, 2*time.Minute)
		}
	}
	faulting := time.Since(workStart)
	require.NoError(t, <-sentFlows)
	require.NoError(t, <-sentChains)
	waitFor := append(slices.Clone(flows), chainsAsFlows(chains)...)
	drained := e.waitFinished(ctx, waitFor, scale(3*time.Minute, 30*time.Minute))
	finished := time.Since(began)

	rep := e.audit(ctx, flows)
	crep := e.auditChains(ctx, chains)
	apps := activityApplications(t, e.cfg.logDir)
	for _, byID := range apps {
		for _, runs := range byID {
			counts.activitiesApplied += len(runs)
		}
	}
	t.Logf("flows: %s", rep)
	t.Logf("chains: %s", crep)
	t.Logf("signals: %s; %d start attempts retried", &e.signalStats, e.startRetries.Load())
	t.Logf("updates: %s", &us)
	t.Logf("faults took %s; every workflow finished %s after the last signal and update; audit took %s",
		faulting.Round(time.Millisecond), drained.Round(time.Millisecond), (time.Since(began) - finished).Round(time.Millisecond))
	t.Logf("SOAK SUMMARY: %d workflows (%d Flow, %d Chain; %d runs with the chains' continued runs and %d children), "+
		"%d worker SIGKILLs, %d node restarts, %d leader SIGKILLs, %d full-cluster restarts; %d signals, %d updates, "+
		"%d activities applied (%d re-executions); run %s, with the audit %s; failed: %v",
		nFlows+nChains, nFlows, nChains, nFlows+nChains*(hops+1)+crep.Children, crep.Children,
		counts.workerKills, counts.nodeRestarts, counts.leaderKills, counts.fullRestarts,
		nFlows*nSignals, crep.Updates, counts.activitiesApplied, rep.ReApplications+crep.ReApplications,
		finished.Round(time.Second), time.Since(began).Round(time.Second), t.Failed())
}

// soakCounts are the faults a soak made and the activities it saw run.
type soakCounts struct {
	workerKills, nodeRestarts, leaderKills, fullRestarts int
	activitiesApplied                                    int
}

func since(t0 time.Time) string { return time.Since(t0).Round(time.Millisecond).String() }

// chainRun is one instance of Chain the test starts.
type chainRun struct {
	ID  string
	Run string // the first run, once started
	In  ChainInput
}

func newChains(n, hops, updates int) []*chainRun {
	chains := make([]*chainRun, n)
	for i := range chains {
		// N continues Flow's numbering far above it, so no activity
		// result of a chain equals one of a flow.
		chains[i] = &chainRun{ID: fmt.Sprintf("chain-%04d", i), In: ChainInput{N: 1_000_000 + i, Hops: hops, Updates: updates}}
	}
	return chains
}

// chainsAsFlows lists the chains as flowRuns for waitFinished, which
// reads only their IDs.
func chainsAsFlows(chains []*chainRun) []*flowRun {
	out := make([]*flowRun, len(chains))
	for i, c := range chains {
		out[i] = &flowRun{ID: c.ID, Run: c.Run}
	}
	return out
}

// updateID is the ID of update k (from 1) to chain c: the same on every
// attempt, so a retry after an unknown outcome is applied at most once.
func updateID(c *chainRun, k int) string { return fmt.Sprintf("upd-%s-%d", c.ID, k) }

// updateStats counts the update calls of a soak.
type updateStats struct {
	applied   atomic.Int64
	calls     atomic.Int64
	rejected  atomic.Int64 // reached a run without the handler (an earlier hop)
	finished  atomic.Int64 // the run continued as new before it took the update
	unknown   atomic.Int64 // any other error: the update may or may not be in
	mu        sync.Mutex
	lastError error
	slowest   time.Duration
}

func (s *updateStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d applied in %d calls (%d rejected by a run before the last, %d ended by a continue-as-new, %d failed otherwise (outcome unknown, or nothing sent while a node or the cluster was away) and retried with the same update ID; the last such error: %v); the slowest took %s",
		s.applied.Load(), s.calls.Load(), s.rejected.Load(), s.finished.Load(), s.unknown.Load(), s.lastError, s.slowest.Round(time.Millisecond))
}

// sendUpdate sends update k to chain c until it is answered, always with
// the same update ID, and checks the answer.
func (e *env) sendUpdate(ctx context.Context, c *chainRun, k int, s *updateStats) error {
	start := time.Now()
	opts := client.UpdateOptions{Instance: &workflow.Instance{InstanceID: c.ID}, Name: UpdateName, UpdateID: updateID(c, k)}
	for {
		s.calls.Add(1)
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		got, err := client.UpdateWorkflow[int](actx, e.c, opts, k)
		cancel()
		if err == nil {
			if want := UpdateAnswer(c.In.N, k); got != want {
				return fmt.Errorf("update %s answered %d, want %d", opts.UpdateID, got, want)
			}
			s.applied.Add(1)
			s.mu.Lock()
			s.slowest = max(s.slowest, time.Since(start))
			s.mu.Unlock()
			return nil
		}
		switch {
		case errors.Is(err, client.ErrUpdateRejected):
			s.rejected.Add(1)
		case errors.Is(err, client.ErrInstanceFinished):
			s.finished.Add(1)
		default:
			s.unknown.Add(1)
			s.mu.Lock()
			s.lastError = err
			s.mu.Unlock()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("update %s: %w", opts.UpdateID, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// driveChains starts each chain at a random moment of the first half of
// period and sends each of its updates at a random moment after its start
// (each in a goroutine of its own). The channel gets the first error, or
// nil once every update is answered.
func (e *env) driveChains(ctx context.Context, rng *rand.Rand, chains []*chainRun, period time.Duration, s *updateStats) <-chan error {
	type plan struct {
		start   time.Duration
		updates []time.Duration
	}
	plans := make([]plan, len(chains))
	for i, c := range chains {
		p := plan{start: time.Duration(rng.Int64N(int64(period / 2)))}
		for range c.In.Updates {
			p.updates = append(p.updates, p.start+time.Duration(rng.Int64N(int64(period-p.start))))
		}
		plans[i] = p
	}
	done := make(chan error, 1)
	began := time.Now()
	sleepUntil := func(at time.Duration) {
		if d := time.Until(began.Add(at)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
	}
	go func() {
		errs := make(chan error, len(chains))
		var wg sync.WaitGroup
		for i, c := range chains {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sleepUntil(plans[i].start)
				run, err := e.startRun(ctx, c.ID, Chain, c.In)
				if err != nil {
					errs <- err
					return
				}
				c.Run = run
				var uwg sync.WaitGroup
				for k, at := range plans[i].updates {
					uwg.Add(1)
					go func() {
						defer uwg.Done()
						sleepUntil(at)
						if err := e.sendUpdate(ctx, c, k+1, s); err != nil {
							errs <- err
						}
					}()
				}
				uwg.Wait()
			}()
		}
		wg.Wait()
		close(errs)
		done <- <-errs
	}()
	return done
}

// waitReplicasCurrent waits until every stream of the cluster has a leader
// and all its replicas online and current.
func waitReplicasCurrent(t *testing.T, ctx context.Context, e *env, within time.Duration) {
	t.Helper()
	var last string
	deadline := time.Now().Add(within)
	for {
		last = replicasBehind(ctx, e.b.JetStream())
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster's streams are not all current after %s: %s", within, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// replicasBehind describes the first stream without a leader or with a
// replica offline or behind, or returns "" when there is none.
func replicasBehind(ctx context.Context, js jetstream.JetStream) string {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l := js.ListStreams(rctx)
	n := 0
	for info := range l.Info() {
		n++
		switch {
		case info.Cluster == nil || info.Cluster.Leader == "":
			return info.Config.Name + ": no leader"
		case len(info.Cluster.Replicas) != info.Config.Replicas-1:
			return fmt.Sprintf("%s: %d peers besides the leader, want %d", info.Config.Name, len(info.Cluster.Replicas), info.Config.Replicas-1)
		}
		for _, r := range info.Cluster.Replicas {
			if r.Offline || !r.Current {
				return fmt.Sprintf("%s: replica %s offline %v, current %v, lag %d", info.Config.Name, r.Name, r.Offline, r.Current, r.Lag)
			}
		}
	}
	if err := l.Err(); err != nil {
		return "listing streams: " + err.Error()
	}
	if n == 0 {
		return "no streams listed"
	}
	return ""
}

// reporter is where an audit reports what it found wrong: a *testing.T,
// or a recorder in the tests of the audit itself.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// chainReport sums up what auditChains saw.
type chainReport struct {
	Chains, Runs, Children, Updates int
	Applications, ReApplications    int
}

func (r chainReport) String() string {
	return fmt.Sprintf("%d chains of %d runs, %d children, %d updates applied; %d activity executions (%d re-executions)",
		r.Chains, r.Runs, r.Children, r.Updates, r.Applications, r.ReApplications)
}

// auditChains checks every chain's result, runs and children:
//
//   - the result is exactly what the input and the updates imply;
//   - the instance has Hops+1 runs, each passing checkCommits, linked by
//     ContinuedExecutionID from the first; each but the last started one
//     child (the expected instance ID), got its result once and ended by
//     continuing as new; the last accepted and completed each update ID
//     once with its answer, and completed;
//   - each child has one run, which ran its activity and completed with
//     its result;
//   - every activity scheduled completed once in its history, ran at
//     least once by the workers' logs, and nothing else ran.
func (e *env) auditChains(ctx context.Context, chains []*chainRun) chainReport {
	t := e.t
	t.Helper()
	commits, err := readCommits(ctx, e.b.JetStream(), e.ns)
	require.NoError(t, err)
	// instance token → run → commits
	byInstance := map[string]map[string][]storedCommit{}
	prefix := "wfh." + e.ns + "."
	for _, c := range commits {
		rest, ok := strings.CutPrefix(c.Subject, prefix)
		if !ok {
			continue
		}
		tok, run, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		if byInstance[tok] == nil {
			byInstance[tok] = map[string][]storedCommit{}
		}
		byInstance[tok][run] = append(byInstance[tok][run], c)
	}
	runsOf := func(id string) map[string][]storedCommit { return byInstance[tokenOf(e.ns, id)] }
	apps := activityApplications(t, e.cfg.logDir)
	rep := chainReport{Chains: len(chains)}
	checkApps := func(id string, scheduled map[int64]bool) {
		byID := apps[id]
		for sid := range scheduled {
			n := len(byID[sid])
			if n == 0 {
				t.Errorf("%s: activity %d is completed in the history but no worker logged running it", id, sid)
			}
			rep.Applications += n
			rep.ReApplications += max(n-1, 0)
		}
		for sid := range byID {
			if !scheduled[sid] {
				t.Errorf("%s: a worker ran activity %d, which the history never scheduled", id, sid)
			}
		}
	}
	for _, c := range chains {
		// The result, followed from the first run to the last.
		var res ChainResult
		for try := 0; ; try++ {
			res, err = client.GetWorkflowResult[ChainResult](ctx, e.c, &workflow.Instance{InstanceID: c.ID, ExecutionID: c.Run}, 10*time.Second)
			if err == nil || try == 4 {
				break
			}
			time.Sleep(time.Second)
		}
		want := expectedChainResult(c.In)
		if err != nil {
			t.Errorf("%s: result: %v", c.ID, err)
		} else {
			got := res
			got.Updates = slices.Sorted(slices.Values(res.Updates))
			if !slices.Equal(got.Children, want.Children) || !slices.Equal(got.Updates, want.Updates) || got.Total != want.Total {
				t.Errorf("%s: result %+v, want %+v (update order aside)", c.ID, res, want)
			}
		}

		// The runs, in the order they continue one another.
		runs := runsOf(c.ID)
		rep.Runs += len(runs)
		if len(runs) != c.In.Hops+1 {
			t.Errorf("%s: %d runs in the history stream, want %d", c.ID, len(runs), c.In.Hops+1)
		}
		events := map[string][]history.Event{}
		next := map[string]string{} // run → the run that continues it
		first := ""
		for run, cs := range runs {
			evs := checkCommits(t, c.ID+" run "+run, cs)
			events[run] = evs
			if len(evs) == 0 {
				continue
			}
			if prev := evs[0].ContinuedExecutionID; prev == "" {
				if first != "" {
					t.Errorf("%s: runs %s and %s both begin the chain", c.ID, first, run)
				}
				first = run
			} else {
				if other, dup := next[prev]; dup {
					t.Errorf("%s: runs %s and %s both continue run %s", c.ID, other, run, prev)
				}
				next[prev] = run
			}
		}
		run := first
		for hop := 0; hop <= c.In.Hops; hop++ {
			if run == "" {
				t.Errorf("%s: the chain of runs breaks off before hop %d (runs %v, links %v)", c.ID, hop, mapsKeys(runs), next)
				break
			}
			what := fmt.Sprintf("%s hop %d (run %s)", c.ID, hop, run)
			if hop < c.In.Hops {
				auditHop(t, what, events[run], ChildInstanceID(c.ID, hop), LeafResult(c.In.N, hop))
			} else {
				scheduled, n := auditLastRun(t, what, c, events[run])
				rep.Updates += n
				checkApps(c.ID, scheduled)
			}
			run = next[run]
		}

		// The children: one run each.
		for hop := range c.In.Hops {
			id := ChildInstanceID(c.ID, hop)
			cruns := runsOf(id)
			if len(cruns) != 1 {
				t.Errorf("%s: %d runs, want 1", id, len(cruns))
			}
			for run, cs := range cruns {
				rep.Children++
				scheduled := auditLeaf(t, id+" run "+run, checkCommits(t, id+" run "+run, cs), LeafResult(c.In.N, hop))
				checkApps(id, scheduled)
			}
		}
	}
	return rep
}

// tokenOf is instance id's subject token in the history stream.
func tokenOf(ns, id string) string {
	s := historySubject(ns, id, "x")
	s = strings.TrimPrefix(s, "wfh."+ns+".")
	return strings.TrimSuffix(s, ".x")
}

func mapsKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func expectedChainResult(in ChainInput) ChainResult {
	var r ChainResult
	for hop := range in.Hops {
		r.Children = append(r.Children, LeafResult(in.N, hop))
		r.Total += LeafResult(in.N, hop)
	}
	for k := 1; k <= in.Updates; k++ {
		r.Updates = append(r.Updates, k)
		r.Total += UpdateAnswer(in.N, k)
	}
	return r
}

// auditHop checks a run of a chain before its last: one child started,
// as child, whose result arrived once and is want; the run ended by
// continuing as new.
func auditHop(t reporter, what string, events []history.Event, child string, want int) {
	t.Helper()
	if len(events) == 0 {
		return
	}
	var started []int64
	results := map[int64]int{}
	finals := 0
	for _, ev := range events {
		if ev.Kind.Final() {
			finals++
		}
		switch ev.Kind {
		case history.SubWorkflowScheduled:
			if ev.InstanceID != child {
				t.Errorf("%s: child %q started, want %q", what, ev.InstanceID, child)
			}
			started = append(started, ev.ID)
		case history.SubWorkflowCompleted:
			results[ev.ScheduleID]++
			if got := decodeInt(ev.Result); got != want {
				t.Errorf("%s: child %s returned %d, want %d", what, child, got, want)
			}
		case history.SubWorkflowFailed:
			t.Errorf("%s: child %s failed: %v", what, child, ev.Failure)
		case history.ActivityScheduled, history.UpdateAccepted:
			t.Errorf("%s: unexpected %v", what, ev.Kind)
		}
	}
	if len(started) != 1 {
		t.Errorf("%s: %d children started, want 1", what, len(started))
	}
	for _, id := range started {
		if results[id] != 1 {
			t.Errorf("%s: the child's result is in the history %d times, want once", what, results[id])
		}
	}
	if last := events[len(events)-1]; finals != 1 || last.Kind != history.WorkflowContinuedAsNew {
		t.Errorf("%s: %d final events, last event %v; want one WorkflowContinuedAsNew at the end", what, finals, last.Kind)
	}
}

// auditLastRun checks a chain's last run: each update accepted and
// completed once with its answer, one activity per update completed once,
// the run completed. It returns the run's scheduled activities and the
// number of updates completed.
func auditLastRun(t reporter, what string, c *chainRun, events []history.Event) (map[int64]bool, int) {
	t.Helper()
	scheduled := map[int64]bool{}
	if len(events) == 0 {
		return scheduled, 0
	}
	accepted := map[string]int{}
	completedUpd := map[string]int{}
	completedAct := map[int64]int{}
	finals := 0
	for _, ev := range events {
		if ev.Kind.Final() {
			finals++
		}
		switch ev.Kind {
		case history.UpdateAccepted:
			accepted[ev.UpdateID]++
		case history.UpdateCompleted:
			completedUpd[ev.UpdateID]++
			if ev.Failure != nil {
				t.Errorf("%s: update %s failed: %v", what, ev.UpdateID, ev.Failure)
				continue
			}
			k, err := strconv.Atoi(ev.UpdateID[strings.LastIndexByte(ev.UpdateID, '-')+1:])
			if err != nil || ev.UpdateID != updateID(c, k) {
				t.Errorf("%s: update ID %q is none the test sent", what, ev.UpdateID)
				continue
			}
			if got, want := decodeInt(ev.Result), UpdateAnswer(c.In.N, k); got != want {
				t.Errorf("%s: update %s recorded answer %d, want %d", what, ev.UpdateID, got, want)
			}
		case history.ActivityScheduled:
			scheduled[ev.ID] = true
		case history.ActivityCompleted:
			completedAct[ev.ScheduleID]++
		case history.ActivityFailed:
			t.Errorf("%s: activity %d failed: %v", what, ev.ScheduleID, ev.Failure)
		case history.SubWorkflowScheduled:
			t.Errorf("%s: unexpected child %s", what, ev.InstanceID)
		}
	}
	for k := 1; k <= c.In.Updates; k++ {
		id := updateID(c, k)
		if accepted[id] != 1 || completedUpd[id] != 1 {
			t.Errorf("%s: update %s accepted %d times and completed %d times, want once each", what, id, accepted[id], completedUpd[id])
		}
	}
	if len(accepted) != c.In.Updates || len(completedUpd) != c.In.Updates {
		t.Errorf("%s: %d updates accepted and %d completed, want %d", what, len(accepted), len(completedUpd), c.In.Updates)
	}
	if len(scheduled) != c.In.Updates {
		t.Errorf("%s: %d activities scheduled, want one per update (%d)", what, len(scheduled), c.In.Updates)
	}
	for id := range scheduled {
		if completedAct[id] != 1 {
			t.Errorf("%s: activity %d has %d completions in the history, want 1", what, id, completedAct[id])
		}
	}
	if last := events[len(events)-1]; finals != 1 || last.Kind != history.WorkflowCompleted {
		t.Errorf("%s: %d final events, last event %v; want one WorkflowCompleted at the end", what, finals, last.Kind)
	}
	n := 0
	for _, v := range completedUpd {
		n += v
	}
	return scheduled, n
}

// auditLeaf checks a child's run: started by a parent, one activity
// completed once, completed with want. It returns the scheduled activities.
func auditLeaf(t reporter, what string, events []history.Event, want int) map[int64]bool {
	t.Helper()
	scheduled := map[int64]bool{}
	if len(events) == 0 {
		return scheduled
	}
	if events[0].Parent == nil {
		t.Errorf("%s: WorkflowStarted names no parent", what)
	}
	completed := map[int64]int{}
	finals := 0
	for _, ev := range events {
		if ev.Kind.Final() {
			finals++
		}
		switch ev.Kind {
		case history.ActivityScheduled:
			scheduled[ev.ID] = true
		case history.ActivityCompleted:
			completed[ev.ScheduleID]++
		case history.ActivityFailed:
			t.Errorf("%s: activity %d failed: %v", what, ev.ScheduleID, ev.Failure)
		}
	}
	if len(scheduled) != 1 {
		t.Errorf("%s: %d activities scheduled, want 1", what, len(scheduled))
	}
	for id := range scheduled {
		if completed[id] != 1 {
			t.Errorf("%s: activity %d has %d completions in the history, want 1", what, id, completed[id])
		}
	}
	last := events[len(events)-1]
	if finals != 1 || last.Kind != history.WorkflowCompleted {
		t.Errorf("%s: %d final events, last event %v; want one WorkflowCompleted at the end", what, finals, last.Kind)
	} else if got := decodeInt(last.Result); got != want {
		t.Errorf("%s: completed with %d, want %d", what, got, want)
	}
	return scheduled
}

// decodeInt decodes a recorded int result (-1 if it is none).
func decodeInt(b []byte) int {
	v := -1
	if converter.Default.Decode(b, &v) != nil {
		return -1
	}
	return v
}
