package faults

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams/embedded"
)

// cluster is a 3-node JetStream cluster a test can take a node out of and
// bring back.
type cluster interface {
	urls() string // every node's URL, comma-separated
	connect() (*nats.Conn, error)
	nodeIndex(name string) int
	nodeName(i int) string
	lose(i int) error // take node i out
	restore(i int) error
	kind() string // how a node is lost, for the figures
}

// embeddedCluster is embedded.StartCluster's cluster, in the test process.
// Losing a node is Stop(i): a graceful shutdown, in which nats-server
// first hands the leadership of its Raft groups over to other nodes.
type embeddedCluster struct{ c *embedded.Cluster }

func (e embeddedCluster) urls() string                 { return e.c.ClientURLs() }
func (e embeddedCluster) connect() (*nats.Conn, error) { return e.c.Connect() }
func (e embeddedCluster) nodeIndex(name string) int    { return e.c.NodeIndex(name) }
func (e embeddedCluster) nodeName(i int) string        { return e.c.NodeName(i) }
func (e embeddedCluster) lose(i int) error             { return e.c.Stop(i) }
func (e embeddedCluster) restore(i int) error          { return e.c.Restart(i) }
func (e embeddedCluster) kind() string                 { return "leader stopped" }

// TestClusterLeaderStopped: a 3-node JetStream cluster (embedded.
// StartCluster) with every stream and consumer R3. While workflows run and
// signals arrive, the node that leads the most of the namespace's streams
// is stopped (Stop(i)), and later started again (Restart(i)). Every
// workflow completes with the right result and nothing is lost or applied
// twice (see env.audit). The test logs how long commits paused around the
// loss, from the stored timestamps of the history stream.
func TestClusterLeaderStopped(t *testing.T) {
	c, err := embedded.StartCluster(3, embedded.ClusterOptions{ReadyTimeout: time.Minute})
	require.NoError(t, err)
	t.Cleanup(c.Shutdown)
	runClusterScenario(t, embeddedCluster{c})
}

// TestClusterLeaderCrashed is TestClusterLeaderStopped with each node in a
// process of its own (testnode) and the leader lost to SIGKILL: no
// graceful hand-over, so the cluster must notice the loss and elect new
// leaders itself (Raft election timeouts are seconds long).
func TestClusterLeaderCrashed(t *testing.T) {
	runClusterScenario(t, startProcCluster(t))
}

func runClusterScenario(t *testing.T, cl cluster) {
	rng := testRand(t)
	var (
		nFlows   = scale(80, 400)
		nSignals = scale(3, 5)
		period   = scale(10*time.Second, 90*time.Second)
		ackWait  = 2 * time.Second
	)
	ctx := testContext(t, scale(4*time.Minute, 20*time.Minute))
	nc, err := cl.connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	e := newEnv(t, nc, cl.urls(), newNamespace("cluster"), ackWait, 3)
	ps := newProcSet(t, e.cfg)
	workers := []*proc{ps.start("w0"), ps.start("w1"), ps.start("w2", noCache)}

	if *failoverFlag > 0 {
		// Each loss gets its step of 10s or more: long enough for an
		// election after a SIGKILL and for the cluster to settle.
		stretched := max(period, time.Duration(2**failoverFlag+1)*10*time.Second)
		// As many signals a second as over the usual period: the commits
		// must come dense enough (tens a second) that the longest gap
		// after a loss is the loss's doing, not the workload's own.
		nSignals = int(int64(nSignals) * int64(stretched) / int64(period))
		period = stretched
	}
	probeCtx, stopProbe := context.WithCancel(ctx)
	defer stopProbe()
	probe, probeDone := startJSProbe(t, probeCtx, nc, "PROBE_"+e.ns)
	elected := recordElections(t, nc)

	flows := newFlows(rng, nFlows, nSignals)
	began := time.Now()
	sent := e.drive(ctx, rng, flows, period, e.signalIdempotent)

	losses := scale(1, 6)
	if *failoverFlag > 0 {
		losses = *failoverFlag
	}
	type loss struct {
		node        string
		led         []string
		probeLeader string
		down, back  time.Time
	}
	var lost []loss
	step := period / time.Duration(2*losses+1)
	for range losses {
		time.Sleep(step * time.Duration(70+rng.IntN(60)) / 100)
		leaders := streamLeaders(t, ctx, e)
		victim := cl.nodeIndex(pickVictim(leaders))
		require.GreaterOrEqual(t, victim, 0, "stream leaders %v", leaders)
		l := loss{node: cl.nodeName(victim)}
		l.probeLeader = probe.moveLeader(ctx, l.node)
		l.down = time.Now()
		for s, n := range leaders {
			if n == l.node {
				l.led = append(l.led, s)
			}
		}
		slices.Sort(l.led)
		require.NoError(t, cl.lose(victim))
		time.Sleep(step * time.Duration(70+rng.IntN(60)) / 100)
		require.NoError(t, cl.restore(victim))
		l.back = time.Now()
		lost = append(lost, l)
	}
	require.NoError(t, <-sent)
	stopProbe()
	probeDone()
	took := e.waitFinished(ctx, flows, scale(3*time.Minute, 10*time.Minute))
	rep := e.audit(ctx, flows)
	for _, w := range workers {
		assert.True(t, w.alive(), "worker process %s survived", w.name)
	}

	commits, err := readCommits(ctx, e.b.JetStream(), e.ns)
	require.NoError(t, err)
	ts := commitTimes(commits)
	pts := probe.times()
	var table strings.Builder
	// The Raft groups jetflow's commits wait for after a loss: the history
	// stream (commits), the inbox stream (the events that make tasks) and
	// the workflow-task consumers (tasks); the probe waits for its stream.
	jetflowGroups := func(g string) bool {
		return g == "stream WF_"+e.ns+"_HISTORY" || g == "stream WF_"+e.ns+"_TASKS" ||
			strings.HasPrefix(g, "consumer WF_"+e.ns+"_TASKS > wft_")
	}
	probeGroup := func(g string) bool { return g == "stream "+probe.stream }
	fmt.Fprintf(&table, "failover figures (%s): loss, node, jetflow commit pause, plain JetStream publish pause, difference (pauses: longest gap from the loss until the node is back, or until the first success after the loss if later); "+
		"then the last election of jetflow's groups (history, inbox stream, workflow-task consumers) before its commits resumed, how long after it they resumed, the probe stream's election, the probe's pause beyond it\n", cl.kind())
	for i, l := range lost {
		gap, _ := pauseAround(ts, l.down)
		// The node's return (a restart, a catch-up) disturbs the cluster
		// again: the loss's pause is the longest gap before it, or the
		// wait for the first success after the loss if that is longer.
		after, afterAt := longestGapAt(ts, l.down, windowEnd(ts, l.down, l.back))
		pgap, _ := pauseAround(pts, l.down)
		pafter := longestGapIn(pts, l.down, windowEnd(pts, l.down, l.back))
		t.Logf("loss %d: node %s (leader of %v; of the probe stream: %v) out for %s; commits paused %s across the loss, longest pause after it until the node was back %s; plain JetStream publishes paused %s across it, longest %s",
			i+1, l.node, l.led, l.probeLeader == l.node, l.back.Sub(l.down).Round(time.Millisecond), gap.Round(time.Millisecond), after.Round(time.Millisecond),
			pgap.Round(time.Millisecond), pafter.Round(time.Millisecond))
		t.Logf("loss %d: the longest pause of commits after it began %s after it (node back after %s); leaders elected in the 15s after it: %v",
			i+1, afterAt.Sub(l.down).Round(time.Millisecond), l.back.Sub(l.down).Round(time.Millisecond), elected.between(l.down, l.down.Add(15*time.Second)))
		row := fmt.Sprintf("%d\t%s\t%s\t%s\t%+d ms", i+1, l.node, after.Round(time.Millisecond), pafter.Round(time.Millisecond), (after - pafter).Milliseconds())
		// The election jetflow's pause waited for: the last of its groups'
		// before the pause ended (the gap may begin after the loss; an
		// election may end after the node is back).
		resumed := afterAt.Add(after)
		if el, ok := elected.last(l.down, resumed, jetflowGroups); ok {
			at := el.at.Sub(l.down)
			row += fmt.Sprintf("\t%s (%s)\t%+d ms", at.Round(time.Millisecond), el.group, resumed.Sub(el.at).Milliseconds())
		} else {
			row += "\tno election of jetflow's groups before it resumed\t-"
		}
		if el, ok := elected.last(l.down, l.down.Add(15*time.Second), probeGroup); ok {
			at := el.at.Sub(l.down)
			row += fmt.Sprintf("\t%s\t%+d ms", at.Round(time.Millisecond), (pafter - at).Milliseconds())
		} else {
			row += "\tno election\t-"
		}
		fmt.Fprintln(&table, row)
	}
	t.Logf("plain JetStream probe: %s", probe)
	if *failoverFlag > 0 {
		fmt.Print(table.String())
	}
	_, longest := pauseAround(ts, time.Time{})
	t.Logf("longest pause between commits in the run: %s; run took %s; all finished %s after the last signal was sent",
		longest.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), took.Round(time.Millisecond))
	t.Logf("signals: %s; %d start attempts retried", &e.signalStats, e.startRetries.Load())
	t.Logf("audit: %s", rep)
	if *failoverFlag > 0 {
		for i, l := range lost {
			t.Logf("loss %d at %s", i+1, l.down.Format("15:04:05.000"))
		}
		for _, w := range workers {
			t.Logf("--- output of worker %s ---\n%s", w.name, w.out.String())
		}
	}
}

// pickVictim names the node that leads the most of the namespace's
// streams, the history stream's leader on a tie: the worst node to lose.
func pickVictim(leaders map[string]string) string {
	count := map[string]int{}
	for _, n := range leaders {
		count[n]++
	}
	best := leaders["HISTORY"]
	for n, c := range count {
		if c > count[best] {
			best = n
		}
	}
	return best
}

// longestGapIn is the longest time without a commit between from and
// the commits up to to (ts sorted): the gap from from to the first commit
// counts, the time after the last commit does not (the run may be over).
func longestGapIn(ts []time.Time, from, to time.Time) time.Duration {
	gap, _ := longestGapAt(ts, from, to)
	return gap
}

// windowEnd is the end of a loss's window in ts (sorted): back, or the
// first time in ts after down when that is later.
func windowEnd(ts []time.Time, down, back time.Time) time.Time {
	i, _ := slices.BinarySearchFunc(ts, down, func(a, b time.Time) int { return a.Compare(b) })
	if i < len(ts) && ts[i].After(back) {
		return ts[i]
	}
	return back
}

// longestGapAt is longestGapIn and when that gap began.
func longestGapAt(ts []time.Time, from, to time.Time) (time.Duration, time.Time) {
	var longest time.Duration
	began := from
	prev := from
	for _, c := range ts {
		if c.Before(from) {
			continue
		}
		if c.After(to) {
			break
		}
		if c.Sub(prev) > longest {
			longest, began = c.Sub(prev), prev
		}
		prev = c
	}
	return longest, began
}

// streamLeaders maps the namespace's streams (HISTORY, TASKS, ACTIVITIES,
// and the registry's KV stream as REGISTRY) to the name of their leader.
func streamLeaders(t *testing.T, ctx context.Context, e *env) map[string]string {
	t.Helper()
	out := map[string]string{}
	names := map[string]string{
		"HISTORY":    "WF_" + e.ns + "_HISTORY",
		"TASKS":      "WF_" + e.ns + "_TASKS",
		"ACTIVITIES": "WF_" + e.ns + "_ACTIVITIES",
		"REGISTRY":   "KV_wf_" + e.ns + "_instances",
	}
	for short, name := range names {
		eventually(t, 30*time.Second, "a leader of "+name, func() bool {
			s, err := e.b.JetStream().Stream(ctx, name)
			if err != nil {
				return false
			}
			info, err := s.Info(ctx)
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				return false
			}
			out[short] = info.Cluster.Leader
			return true
		})
	}
	return out
}

// procCluster is a 3-node cluster of testnode processes on fixed loopback
// ports, each with its store folder, so a node killed and started again
// comes back as itself.
type procCluster struct {
	t     *testing.T
	nodes []*procNode
}

type procNode struct {
	name              string
	port, clusterPort int
	dir               string
	p                 *proc
}

func startProcCluster(t *testing.T) *procCluster {
	t.Helper()
	ports := freePorts(t, 6)
	root := t.TempDir()
	c := &procCluster{t: t}
	for i := range 3 {
		c.nodes = append(c.nodes, &procNode{
			name:        fmt.Sprintf("n%d", i+1),
			port:        ports[2*i],
			clusterPort: ports[2*i+1],
			dir:         filepath.Join(root, fmt.Sprintf("n%d", i+1)),
		})
	}
	for i := range c.nodes {
		require.NoError(t, c.start(i))
	}
	require.NoError(t, c.waitForJetStream())
	return c
}

func (c *procCluster) start(i int) error {
	nd := c.nodes[i]
	var routes []string
	for j, o := range c.nodes {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.clusterPort))
		}
	}
	p, err := spawn(c.t, nodeBin, []string{
		"-name", nd.name,
		"-port", strconv.Itoa(nd.port),
		"-cluster-port", strconv.Itoa(nd.clusterPort),
		"-routes", strings.Join(routes, ","),
		"-dir", nd.dir,
	}, "node "+nd.name)
	if err != nil {
		return err
	}
	nd.p = p
	return nil
}

// waitForJetStream waits until the cluster can place an R3 stream: a meta
// leader answering is not enough, since the leader may not know every peer
// yet (then placement fails with "no suitable peers"), least of all on a
// busy machine.
func (c *procCluster) waitForJetStream() error {
	nc, err := c.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "READY_PROBE", Subjects: []string{"ready.probe"}, Replicas: 3})
		if err == nil {
			err = js.DeleteStream(ctx, "READY_PROBE")
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster cannot place an R3 stream after a minute: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *procCluster) urls() string {
	var us []string
	for _, nd := range c.nodes {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", nd.port))
	}
	return strings.Join(us, ",")
}

func (c *procCluster) connect() (*nats.Conn, error) {
	return nats.Connect(c.urls(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
}

func (c *procCluster) nodeIndex(name string) int {
	return slices.IndexFunc(c.nodes, func(nd *procNode) bool { return nd.name == name })
}

func (c *procCluster) nodeName(i int) string { return c.nodes[i].name }

func (c *procCluster) kind() string { return "leader SIGKILLed" }

// lose SIGKILLs node i.
func (c *procCluster) lose(i int) error {
	c.nodes[i].p.kill()
	return nil
}

// restore starts node i again and waits until JetStream answers.
func (c *procCluster) restore(i int) error {
	if err := c.start(i); err != nil {
		return err
	}
	return c.waitForJetStream()
}

// freePorts finds n distinct free loopback ports (released before use;
// on loopback in a test run, another taker in between is rare).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
