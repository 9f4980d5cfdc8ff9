package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/workflow"
)

// newNamespace is a fresh namespace name: prefix and a number.
func newNamespace(prefix string) string { return testenv.UniqueName(prefix) }

// env is one scenario's namespace: the test's own connection, backend and
// client, and what worker processes need to join.
type env struct {
	t   *testing.T
	ns  string
	nc  *nats.Conn
	b   *streams.Backend
	c   *client.Client
	cfg workerConfig

	signalStats  sendStats
	startRetries atomic.Int64
}

// newEnv provisions namespace ns on nc for the test. workerURL is what
// worker processes connect to.
func newEnv(t *testing.T, nc *nats.Conn, workerURL, ns string, ackWait time.Duration, replicas int) *env {
	t.Helper()
	b, err := streams.New(nc, streams.WithNamespace(ns), streams.WithAckWait(ackWait),
		streams.WithReplicas(replicas), streams.WithRequestTimeout(10*time.Second))
	require.NoError(t, err)
	return &env{
		t:  t,
		ns: ns,
		nc: nc,
		b:  b,
		c:  client.New(b),
		cfg: workerConfig{
			url:      workerURL,
			ns:       ns,
			logDir:   t.TempDir(),
			ackWait:  ackWait,
			replicas: replicas,
		},
	}
}

// newLocalEnv starts a server on loopback for the test and provisions a
// fresh namespace, prefix and a number, on it; worker processes connect
// to the server directly.
func newLocalEnv(t *testing.T, prefix string, ackWait time.Duration) (*embedded.Server, *env) {
	t.Helper()
	srv := testenv.Server(t, testenv.Loopback())
	return srv, newEnv(t, testenv.Conn(t, srv), srv.ClientURL(), newNamespace(prefix), ackWait, 1)
}

// clientVia is a client of the env's namespace whose connection goes
// through p, for a test that loses its messages on the way.
func (e *env) clientVia(p *natsProxy) *client.Client {
	e.t.Helper()
	nc, err := nats.Connect(p.URL())
	require.NoError(e.t, err)
	e.t.Cleanup(nc.Close)
	return client.New(testenv.Backend(e.t, nc, streams.WithNamespace(e.ns), streams.WithAckWait(e.cfg.ackWait)))
}

// flowRun is one instance of Flow the test starts.
type flowRun struct {
	ID  string
	Run string // set once started
	In  Input
}

// newFlows makes n flows, each waiting for signals signals and sleeping
// 200–500 ms (drawn from rng).
func newFlows(rng *rand.Rand, n, signals int) []*flowRun {
	flows := make([]*flowRun, n)
	for i := range flows {
		flows[i] = &flowRun{
			ID: fmt.Sprintf("flow-%04d", i),
			In: Input{N: i, Signals: signals, Timer: time.Duration(200+rng.IntN(301)) * time.Millisecond},
		}
	}
	return flows
}

// startFlow starts f with the client, retrying until ctx ends, and
// returns once the run has a history (its start is committed). A start
// whose outcome is unknown (the server went away) is started again with
// the same ID, as the client documents: for a registered run with an
// empty history the client republishes the start event and reports
// ErrInstanceAlreadyExists. Before 381e43b that error did not prove the
// start was in (see TestStartHealFailureIsNotAlreadyExists); the test
// still asks again until the run's history shows it.
func (e *env) startFlow(ctx context.Context, f *flowRun) error {
	run, err := e.startRun(ctx, f.ID, Flow, f.In)
	f.Run = run
	return err
}

// startRun starts workflow wf with arg as instance id, as startFlow
// describes, and returns its first run's ID.
func (e *env) startRun(ctx context.Context, id string, wf, arg any) (string, error) {
	failed := false
	for {
		// Each attempt has a deadline of its own: a request whose answer
		// is lost (a node died) would otherwise wait as long as ctx.
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		inst, err := e.c.CreateWorkflowInstance(actx, client.WorkflowInstanceOptions{InstanceID: id}, wf, arg)
		cancel()
		if err == nil {
			return inst.ExecutionID, nil
		}
		if failed && errors.Is(err, client.ErrInstanceAlreadyExists) {
			if run, ok := e.runStarted(ctx, id); ok {
				return run, nil
			}
		}
		if !failed || !errors.Is(err, client.ErrInstanceAlreadyExists) {
			if n := e.startRetries.Add(1); n <= 5 {
				e.t.Logf("start %s: %v (retrying)", id, err)
			}
		}
		failed = true
		if ctx.Err() != nil {
			return "", fmt.Errorf("start %s: %w", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runStarted returns the instance's current run if its history has a
// commit.
func (e *env) runStarted(ctx context.Context, id string) (string, bool) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := e.b.GetInstance(rctx, id)
	if err != nil {
		return "", false
	}
	h, err := e.b.ReadHistory(rctx, id, r.ExecutionID)
	if err != nil || len(h.Commits) == 0 {
		return "", false
	}
	return r.ExecutionID, true
}

// startFlows starts n flows at once (see newFlows).
func (e *env) startFlows(ctx context.Context, rng *rand.Rand, n, signals int) []*flowRun {
	e.t.Helper()
	flows := newFlows(rng, n, signals)
	for _, f := range flows {
		require.NoError(e.t, e.startFlow(ctx, f))
	}
	return flows
}

// signalSend is one signal the test sends: the k-th (from 1) to a flow.
type signalSend struct {
	flow *flowRun
	k    int
}

func (s signalSend) value() int { return SignalValue(s.flow.In.N, s.k) }

// drive runs the workload over period, in the background: each flow is
// started at a random moment of the first half, and each of its signals
// sent at a random moment after its start, so starts, activities, timers,
// signals and completions go on all through the period (and through the
// faults the test makes meanwhile). Each step runs in a goroutine of its
// own, so one held up by a fault holds up no other (a signal waits for
// its flow's start only). The channel gets the first error, or nil once
// everything is sent.
func (e *env) drive(ctx context.Context, rng *rand.Rand, flows []*flowRun, period time.Duration, send func(context.Context, signalSend) error) <-chan error {
	type step struct {
		at  time.Duration
		f   int
		sig int // 0: start
	}
	var steps []step
	for i, f := range flows {
		at := time.Duration(rng.Int64N(int64(period / 2)))
		steps = append(steps, step{at: at, f: i})
		for k := 1; k <= f.In.Signals; k++ {
			steps = append(steps, step{at: at + time.Duration(rng.Int64N(int64(period-at))), f: i, sig: k})
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return int(a.at - b.at) })
	started := make([]chan struct{}, len(flows))
	for i := range started {
		started[i] = make(chan struct{})
	}
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		errs := make(chan error, len(steps))
		began := time.Now()
		for _, st := range steps {
			if d := time.Until(began.Add(st.at)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := flows[st.f]
				if st.sig == 0 {
					if err := e.startFlow(ctx, f); err != nil {
						errs <- err
						return
					}
					close(started[st.f])
					return
				}
				select {
				case <-started[st.f]:
				case <-ctx.Done():
					errs <- fmt.Errorf("signal %d to %s: %s never started: %w", st.sig, f.ID, f.ID, ctx.Err())
					return
				}
				if err := send(ctx, signalSend{flow: f, k: st.sig}); err != nil {
					errs <- fmt.Errorf("signal %d to %s: %w", st.sig, f.ID, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		done <- <-errs // nil when closed empty
	}()
	return done
}

// signalByClient sends a signal with the public client API. Each call is a
// new signal, so it is only used where a failed call means "not sent"
// (the server stays up); an error fails the test.
func (e *env) signalByClient(ctx context.Context, s signalSend) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return e.c.SignalWorkflow(ctx, s.flow.ID, SignalName, s.value())
}

// signalIdempotent puts the signal straight into the instance's inbox with
// a message ID of its own, retrying until it is stored: a retry of a
// publish whose outcome was unknown (server restarting, leader lost) is
// dropped by JetStream's duplicate window instead of doubling the signal.
// (client.SignalWorkflowWithOptions with a SignalID does the same across
// calls; this helper publishes by hand to keep the fault tests' own path.)
func (e *env) signalIdempotent(ctx context.Context, s signalSend) error {
	payload, err := converter.Default.Encode(s.value())
	if err != nil {
		return err
	}
	ev := &history.Event{
		Kind:        history.SignalReceived,
		Time:        time.Now().UTC(),
		InboxID:     fmt.Sprintf("sig:faults:%s:%d", s.flow.ID, s.k),
		ExecutionID: s.flow.Run,
		Name:        SignalName,
		Args:        [][]byte{payload},
	}
	start := time.Now()
	for {
		try, cancel := context.WithTimeout(ctx, time.Second)
		err := e.b.PublishEvent(try, streams.DefaultQueue, s.flow.ID, ev)
		cancel()
		if err == nil {
			e.signalStats.record(time.Since(start))
			return nil
		}
		e.signalStats.retry()
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendStats counts the retries of idempotent signal sends and the longest
// time one signal took to be stored.
type sendStats struct {
	mu      sync.Mutex
	retries int
	longest time.Duration
}

func (s *sendStats) retry() {
	s.mu.Lock()
	s.retries++
	s.mu.Unlock()
}

func (s *sendStats) record(d time.Duration) {
	s.mu.Lock()
	s.longest = max(s.longest, d)
	s.mu.Unlock()
}

func (s *sendStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d retried signal publishes, the slowest signal took %s to be stored", s.retries, s.longest.Round(time.Millisecond))
}

// waitFinished waits until every flow's registry entry says it finished,
// riding out read errors while the server or a node is away. Call it once
// the test has sent everything it sends. It fails the test, describing
// the stuck instances, after within, or as soon as no work is left: the
// task and activity streams hold nothing (no inbox event, no timer
// schedule, no activity task, nothing delivered and unacknowledged; a
// worker acknowledges only after its commit and its side effects), twice
// in a row a second apart, while some flow has not finished. Nothing can
// move such a flow any more: an event it needed was lost.
func (e *env) waitFinished(ctx context.Context, flows []*flowRun, within time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	pending := slices.Clone(flows)
	var lastErr error
	idleSince := time.Time{}
	lastIdleCheck := time.Time{}
	for len(pending) > 0 {
		if time.Since(lastIdleCheck) >= time.Second {
			lastIdleCheck = time.Now()
			if e.noWorkLeft(ctx) {
				if !idleSince.IsZero() {
					e.describeStuck(ctx, pending, lastErr)
					e.t.Fatalf("LOST WORK: %d of %d workflows are unfinished, but the task and activity streams have been empty since %s: "+
						"nothing can move them any more", len(pending), len(flows), idleSince.Format(time.StampMilli))
				}
				idleSince = lastIdleCheck
			} else {
				idleSince = time.Time{}
			}
		}
		var still []*flowRun
		for _, f := range pending {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			r, err := e.b.GetInstance(rctx, f.ID)
			cancel()
			if err != nil {
				lastErr = err
				still = append(still, f)
				continue
			}
			if !r.Status.Finished() {
				still = append(still, f)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.describeStuck(ctx, pending, lastErr)
			e.t.Fatalf("%d of %d workflows not finished after %s", len(pending), len(flows), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// noWorkLeft reports whether the namespace's task and activity streams
// are both empty (false if it cannot tell).
func (e *env) noWorkLeft(ctx context.Context) bool {
	for _, name := range []string{"TASKS", "ACTIVITIES"} {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := e.b.JetStream().Stream(rctx, "WF_"+e.ns+"_"+name)
		if err != nil {
			cancel()
			return false
		}
		info, err := s.Info(rctx)
		cancel()
		if err != nil || info.State.Msgs != 0 {
			return false
		}
	}
	return true
}

func (e *env) describeStuck(ctx context.Context, flows []*flowRun, lastErr error) {
	if lastErr != nil {
		e.t.Logf("last registry read error: %v", lastErr)
	}
	e.logQueues(ctx)
	apps := activityApplications(e.t, e.cfg.logDir)
	for i, f := range flows {
		if i == 10 {
			e.t.Logf("... and %d more", len(flows)-10)
			break
		}
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		d, err := e.c.DescribeWorkflowInstance(rctx, f.ID)
		cancel()
		if err != nil {
			e.t.Logf("%s: describe: %v", f.ID, err)
			continue
		}
		e.t.Logf("%s: status %s, %d events, last event at %s, pending %+v; activity runs by schedule ID: %v",
			f.ID, d.Status, d.HistoryLength, d.LastEventAt.Format(time.StampMilli), d.Pending, apps[f.ID])
	}
}

// logQueues logs the state of the namespace's work queues.
func (e *env) logQueues(ctx context.Context) {
	js := e.b.JetStream()
	for _, sc := range [][2]string{{"TASKS", "wft_default"}, {"ACTIVITIES", "wfa_default"}} {
		s, err := js.Stream(ctx, "WF_"+e.ns+"_"+sc[0])
		if err != nil {
			e.t.Logf("stream %s: %v", sc[0], err)
			continue
		}
		si, err := s.Info(ctx)
		if err != nil {
			e.t.Logf("stream %s: %v", sc[0], err)
			continue
		}
		e.t.Logf("stream %s: %d messages (seq %d..%d)", sc[0], si.State.Msgs, si.State.FirstSeq, si.State.LastSeq)
		c, err := s.Consumer(ctx, sc[1])
		if err != nil {
			e.t.Logf("consumer %s: %v", sc[1], err)
			continue
		}
		ci, err := c.Info(ctx)
		if err != nil {
			e.t.Logf("consumer %s: %v", sc[1], err)
			continue
		}
		e.t.Logf("consumer %s: pending %d, ack pending %d, redelivered %d, waiting %d, delivered %d/%d, ack floor %d/%d",
			sc[1], ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting,
			ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream)
	}
}

// storedCommit is one message of the history stream.
type storedCommit struct {
	Subject     string
	Seq         uint64
	Expected    uint64 // Nats-Expected-Last-Subject-Sequence it was published with
	HasExpected bool
	Stored      time.Time // when the stream stored it
	Commit      *history.Commit
}

// readCommits reads the whole history stream of the namespace with an
// ordered consumer, keeping the headers and the stored timestamps that
// history reads leave out. A cluster that has just got a node back may
// not answer for a moment, and a long stream read by a slow process (a
// soak's hundred thousand commits under -race on a busy machine) may not
// fit in one attempt's 20 s: a failed attempt is followed by another that
// goes on after the last commit read, until a minute passes without one.
func readCommits(ctx context.Context, js jetstream.JetStream, ns string) ([]storedCommit, error) {
	var out []storedCommit
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		before := len(out)
		var err error
		out, err = readCommitsOnce(rctx, js, ns, out)
		cancel()
		if err == nil {
			return out, nil
		}
		if len(out) > before {
			deadline = time.Now().Add(time.Minute)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return out, fmt.Errorf("read the history stream: %d attempts, %d commits read, none for a minute: %w", attempt, len(out), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readCommitsOnce reads the history stream on from the commit after the
// last of out, appending to out, up to the stream's last sequence as its
// info gives it.
func readCommitsOnce(ctx context.Context, js jetstream.JetStream, ns string, out []storedCommit) ([]storedCommit, error) {
	s, err := js.Stream(ctx, "WF_"+ns+"_HISTORY")
	if err != nil {
		return out, fmt.Errorf("look up the stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("stream info: %w", err)
	}
	last := info.State.LastSeq
	from := uint64(1)
	if len(out) > 0 {
		from = out[len(out)-1].Seq + 1
	}
	if last == 0 || from > last {
		return out, nil
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return out, fmt.Errorf("ordered consumer from sequence %d: %w", from, err)
	}
	// One iterator for the whole read: each Fetch of an ordered consumer
	// makes a new consumer, and a pull sent before the new consumer's
	// interest reached this connection's node gets "no responders" (a
	// soak's read of a hundred thousand commits did, over and over).
	it, err := cons.Messages()
	if err != nil {
		return out, fmt.Errorf("read from sequence %d: %w", from, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return out, fmt.Errorf("read from sequence %d, %d commits read: %w", from, len(out), err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return out, err
		}
		c, err := history.DecodeCommit(m.Data())
		if err != nil {
			return out, fmt.Errorf("commit at sequence %d: %w", meta.Sequence.Stream, err)
		}
		sc := storedCommit{Subject: m.Subject(), Seq: meta.Sequence.Stream, Stored: meta.Timestamp, Commit: c}
		if v := m.Headers().Get(jetstream.ExpectedLastSubjSeqHeader); v != "" {
			sc.Expected, err = strconv.ParseUint(v, 10, 64)
			sc.HasExpected = err == nil
		}
		out = append(out, sc)
		if sc.Seq >= last {
			return out, nil
		}
	}
}

func historySubject(ns, inst, run string) string {
	tok, err := streams.EncodeInstanceID(inst)
	if err != nil {
		panic(err)
	}
	return "wfh." + ns + "." + tok + "." + run
}

// activityApplications reads every worker's activity log: instance →
// schedule ID → applications (attempt numbers).
func activityApplications(t *testing.T, dir string) map[string]map[int64][]int {
	t.Helper()
	out := map[string]map[int64][]int{}
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// inst,scheduleID,what,attempt,worker
			parts := strings.Split(sc.Text(), ",")
			require.Len(t, parts, 5, "activity log line %q in %s", sc.Text(), name)
			id, err := strconv.ParseInt(parts[1], 10, 64)
			require.NoError(t, err)
			attempt, err := strconv.Atoi(parts[3])
			require.NoError(t, err)
			if out[parts[0]] == nil {
				out[parts[0]] = map[int64][]int{}
			}
			out[parts[0]][id] = append(out[parts[0]][id], attempt)
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	return out
}

// auditReport sums up what an audit saw.
type auditReport struct {
	Flows          int
	Commits        int
	Applications   int // activity executions, all workers
	ReApplications int // executions beyond one per scheduled activity
	MaxAttempt     int
	// Deliveries of the queues' consumers: inbox deliveries against the
	// task stream's last sequence (which also counts timer schedules),
	// activity deliveries against activity tasks stored.
	InboxDeliveries, TaskSeq        uint64
	ActivityDeliveries, ActivitySeq uint64
}

func (r auditReport) String() string {
	return fmt.Sprintf("%d workflows, %d commits, %d activity executions (%d re-executions after a crash or redelivery, highest attempt %d); "+
		"activity tasks delivered %d times for %d stored (%d redeliveries); inbox deliveries %d for %d task-stream messages (inbox events and timer schedules)",
		r.Flows, r.Commits, r.Applications, r.ReApplications, r.MaxAttempt,
		r.ActivityDeliveries, r.ActivitySeq, r.ActivityDeliveries-min(r.ActivityDeliveries, r.ActivitySeq), r.InboxDeliveries, r.TaskSeq)
}

// audit checks every flow's result and history, and the activity logs.
//
//   - the result is exactly what the inputs and the signals sent imply;
//   - the history begins with WorkflowStarted; every commit was stored
//     with a sequence check on its predecessor; event IDs run 1, 2, 3, …
//     without gap or repeat; no inbound event (same InboxID) is in the
//     history twice;
//   - every ActivityScheduled has exactly one ActivityCompleted (no
//     failure), the timer fired once, every signal sent is in the history
//     once and nothing else is; the run ends with one WorkflowCompleted;
//   - every scheduled activity ran at least once, and nothing ran that was
//     not scheduled.
func (e *env) audit(ctx context.Context, flows []*flowRun) auditReport {
	t := e.t
	t.Helper()
	commits, err := readCommits(ctx, e.b.JetStream(), e.ns)
	require.NoError(t, err)
	bySubject := map[string][]storedCommit{}
	for _, c := range commits {
		bySubject[c.Subject] = append(bySubject[c.Subject], c)
	}
	apps := activityApplications(t, e.cfg.logDir)
	rep := auditReport{Flows: len(flows), Commits: len(commits)}
	if ci, err := consumerInfo(ctx, e.b.JetStream(), e.ns, "TASKS", "wft_default"); err == nil {
		rep.InboxDeliveries = ci.Delivered.Consumer
	}
	if ci, err := consumerInfo(ctx, e.b.JetStream(), e.ns, "ACTIVITIES", "wfa_default"); err == nil {
		rep.ActivityDeliveries, rep.ActivitySeq = ci.Delivered.Consumer, ci.Delivered.Stream
	}
	if s, err := e.b.JetStream().Stream(ctx, "WF_"+e.ns+"_TASKS"); err == nil {
		if info, err := s.Info(ctx); err == nil {
			rep.TaskSeq = info.State.LastSeq
		}
	}
	for _, f := range flows {
		var res Result
		for try := 0; ; try++ {
			res, err = client.GetWorkflowResult[Result](ctx, e.c, &workflow.Instance{InstanceID: f.ID, ExecutionID: f.Run}, 10*time.Second)
			if err == nil || try == 4 {
				break
			}
			time.Sleep(time.Second) // a read error while a cluster settles
		}
		if err != nil {
			t.Errorf("%s: result: %v", f.ID, err)
			continue
		}
		want := expectedResult(f.In)
		got := res
		got.Signals = slices.Sorted(slices.Values(res.Signals))
		if got.Activities != want.Activities || got.Total != want.Total || !slices.Equal(got.Signals, want.Signals) {
			t.Errorf("%s: result %+v, want %+v (signal order aside)", f.ID, res, want)
		}
		scheduled := auditHistory(t, f, bySubject[historySubject(e.ns, f.ID, f.Run)])
		byID := apps[f.ID]
		for id := range scheduled {
			n := len(byID[id])
			if n == 0 {
				t.Errorf("%s: activity %d is completed in the history but no worker logged running it", f.ID, id)
			}
			rep.Applications += n
			rep.ReApplications += max(n-1, 0)
			for _, a := range byID[id] {
				rep.MaxAttempt = max(rep.MaxAttempt, a)
			}
		}
		for id := range byID {
			if _, ok := scheduled[id]; !ok {
				t.Errorf("%s: a worker ran activity %d, which the history never scheduled", f.ID, id)
			}
		}
	}
	return rep
}

func expectedResult(in Input) Result {
	r1, r2 := StepResult(in.N, 1), StepResult(in.N, 2)
	r3 := CombineResult(r1, r2)
	res := Result{Activities: [3]int{r1, r2, r3}, Total: r1 + r2 + r3}
	for k := 1; k <= in.Signals; k++ {
		res.Signals = append(res.Signals, SignalValue(in.N, k))
		res.Total += SignalValue(in.N, k)
	}
	sort.Ints(res.Signals)
	return res
}

// checkCommits checks what every run's stored commits must satisfy, and
// returns the run's events in order: the history begins with
// WorkflowStarted; every commit was stored with a sequence check on its
// predecessor; event IDs run 1, 2, 3, … without gap or repeat; no inbound
// event (same InboxID) is in it twice. what names the run in errors.
func checkCommits(t reporter, what string, commits []storedCommit) []history.Event {
	t.Helper()
	if len(commits) == 0 {
		t.Errorf("%s: no history", what)
		return nil
	}
	if first := commits[0].Commit.Events[0]; first.Kind != history.WorkflowStarted {
		t.Errorf("%s: the history begins with %v, not WorkflowStarted", what, first.Kind)
	}
	var prevSeq uint64
	nextID := int64(1)
	inbox := map[string]int{}
	var events []history.Event
	for i, c := range commits {
		switch {
		case !c.HasExpected:
			t.Errorf("%s: commit %d (seq %d) was stored without a sequence check", what, i+1, c.Seq)
		case c.Expected != prevSeq:
			t.Errorf("%s: commit %d (seq %d) expected last sequence %d, but its predecessor is %d", what, i+1, c.Seq, c.Expected, prevSeq)
		}
		prevSeq = c.Seq
		for _, ev := range c.Commit.Events {
			if ev.ID != nextID {
				t.Errorf("%s: event %v has ID %d, want %d (IDs must run without gap or repeat)", what, ev.Kind, ev.ID, nextID)
			}
			nextID = ev.ID + 1
			if ev.Kind.Inbound() {
				inbox[ev.InboxID]++
				if inbox[ev.InboxID] == 2 {
					t.Errorf("%s: inbound event %s (%v) is in the history twice", what, ev.InboxID, ev.Kind)
				}
			}
			events = append(events, ev)
		}
	}
	return events
}

// auditHistory checks one run's stored commits (see audit) and returns
// the IDs of its ActivityScheduled events.
func auditHistory(t *testing.T, f *flowRun, commits []storedCommit) map[int64]bool {
	t.Helper()
	events := checkCommits(t, f.ID, commits)
	if events == nil {
		return nil
	}
	scheduled := map[int64]bool{}
	completed := map[int64]int{}
	timers := map[int64]bool{}
	fired := map[int64]int{}
	var signals []int
	finals := 0
	var last history.Event
	for _, ev := range events {
		last = ev
		if ev.Kind.Final() {
			finals++
		}
		switch ev.Kind {
		case history.ActivityScheduled:
			scheduled[ev.ID] = true
		case history.ActivityCompleted:
			completed[ev.ScheduleID]++
		case history.ActivityFailed:
			t.Errorf("%s: activity %d failed: %v", f.ID, ev.ScheduleID, ev.Failure)
		case history.TimerScheduled:
			timers[ev.ID] = true
		case history.TimerFired:
			fired[ev.ScheduleID]++
		case history.SignalReceived:
			var v int
			if len(ev.Args) != 1 || converter.Default.Decode(ev.Args[0], &v) != nil {
				t.Errorf("%s: undecodable signal %s", f.ID, ev.InboxID)
			}
			signals = append(signals, v)
		}
	}
	for id := range scheduled {
		if completed[id] != 1 {
			t.Errorf("%s: activity %d has %d completions in the history, want 1", f.ID, id, completed[id])
		}
	}
	for id := range completed {
		if !scheduled[id] {
			t.Errorf("%s: completion of activity %d, which was never scheduled", f.ID, id)
		}
	}
	if len(scheduled) != 3 {
		t.Errorf("%s: %d activities scheduled, want 3", f.ID, len(scheduled))
	}
	if len(timers) != 1 {
		t.Errorf("%s: %d timers scheduled, want 1", f.ID, len(timers))
	}
	for id := range timers {
		if fired[id] != 1 {
			t.Errorf("%s: timer %d fired %d times in the history, want 1", f.ID, id, fired[id])
		}
	}
	slices.Sort(signals)
	if want := expectedResult(f.In).Signals; !slices.Equal(signals, want) {
		t.Errorf("%s: signals in the history %v, want each of %v once", f.ID, signals, want)
	}
	if finals != 1 || last.Kind != history.WorkflowCompleted {
		t.Errorf("%s: %d final events, last event %v; want one WorkflowCompleted at the end", f.ID, finals, last.Kind)
	}
	return scheduled
}

// commitTimes returns the stored times of all commits, in order.
func commitTimes(commits []storedCommit) []time.Time {
	ts := make([]time.Time, len(commits))
	for i, c := range commits {
		ts[i] = c.Stored
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts
}

// pauseAround reports the gap between the last commit stored before at and
// the first stored after it, and the longest gap between successive commits
// overall.
func pauseAround(ts []time.Time, at time.Time) (around, longest time.Duration) {
	for i := 1; i < len(ts); i++ {
		gap := ts[i].Sub(ts[i-1])
		longest = max(longest, gap)
		if !ts[i-1].After(at) && ts[i].After(at) {
			around = gap
		}
	}
	return around, longest
}

// testContext is a context that ends after d (the scenario's budget) or
// with the test.
func testContext(t *testing.T, d time.Duration) context.Context { return testenv.Context(t, d) }
