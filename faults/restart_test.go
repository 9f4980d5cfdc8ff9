package faults

import (
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams/embedded"
)

// restartableServer is an embedded server on a fixed port and store folder
// that the test stops and starts again.
type restartableServer struct {
	t    *testing.T
	dir  string
	port int

	mu  sync.Mutex
	srv *embedded.Server
}

func startRestartable(t *testing.T) *restartableServer {
	t.Helper()
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Options{Dir: dir, Port: embedded.RandomPort})
	require.NoError(t, err)
	u, err := url.Parse(srv.ClientURL())
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	rs := &restartableServer{t: t, dir: dir, port: port, srv: srv}
	t.Cleanup(func() {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if rs.srv != nil {
			rs.srv.Shutdown()
		}
	})
	return rs
}

func (rs *restartableServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", rs.port) }

// stop shuts the server down (its clients see the connection drop).
func (rs *restartableServer) stop() {
	rs.mu.Lock()
	srv := rs.srv
	rs.srv = nil
	rs.mu.Unlock()
	srv.Shutdown()
}

// start starts the server again on the same port and store. The port was
// just released; binding it again is retried briefly.
func (rs *restartableServer) start() {
	rs.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		srv, err := embedded.Start(embedded.Options{Dir: rs.dir, Port: rs.port})
		if err == nil {
			rs.mu.Lock()
			rs.srv = srv
			rs.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			rs.t.Fatalf("restarting the server on port %d: %v", rs.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServerRestart: the embedded NATS server (file store on disk) is shut
// down and started again on the same port and folder, several times, while
// workflows run and the test sends signals. The worker processes are never
// restarted: they reconnect by themselves (the test worker connects with
// MaxReconnects(-1)). Every workflow completes with the right result, and
// nothing is lost or applied twice (see env.audit).
//
// Signals go straight to the inbox with a message ID of the test's own
// (env.signalIdempotent): a signal sent while the server goes away has an
// unknown outcome, and client.SignalWorkflow gives each call a fresh ID, so
// a retry could deliver it twice.
func TestServerRestart(t *testing.T) {
	rng := testRand(t)
	var (
		nFlows   = scale(100, 600)
		nSignals = scale(3, 5)
		period   = scale(10*time.Second, 120*time.Second)
		restarts = scale(3, 15)
		ackWait  = 2 * time.Second
	)
	ctx := testContext(t, scale(3*time.Minute, 20*time.Minute))
	rs := startRestartable(t)
	nc, err := nats.Connect(rs.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	e := newEnv(t, nc, rs.url(), newNamespace("restart"), ackWait, 1)
	ps := newProcSet(t, e.cfg)
	workers := []*proc{ps.start("w0"), ps.start("w1", noCache)}

	flows := newFlows(rng, nFlows, nSignals)
	began := time.Now()
	sent := e.drive(ctx, rng, flows, period, e.signalIdempotent)

	type outage struct{ down, up time.Time }
	var outages []outage
	for range restarts {
		// Up for a while, then down for a while: both at random.
		time.Sleep(period / time.Duration(restarts+1) * time.Duration(50+rng.IntN(50)) / 100)
		o := outage{down: time.Now()}
		rs.stop()
		time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		rs.start()
		o.up = time.Now()
		outages = append(outages, o)
	}
	require.NoError(t, <-sent)
	took := e.waitFinished(ctx, flows, scale(2*time.Minute, 10*time.Minute))
	rep := e.audit(ctx, flows)
	for _, w := range workers {
		assert.True(t, w.alive(), "worker process %s survived the restarts", w.name)
	}

	commits, err := readCommits(ctx, e.b.JetStream(), e.ns)
	require.NoError(t, err)
	ts := commitTimes(commits)
	for i, o := range outages {
		gap, _ := pauseAround(ts, o.up)
		first := time.Duration(-1)
		for _, c := range ts {
			if c.After(o.up) {
				first = c.Sub(o.up)
				break
			}
		}
		t.Logf("restart %d: server down %s; commits paused %s (from the last commit before the shutdown to the first after the restart); first commit %s after the server was back",
			i+1, o.up.Sub(o.down).Round(time.Millisecond), gap.Round(time.Millisecond), first.Round(time.Millisecond))
	}
	_, longest := pauseAround(ts, time.Time{})
	t.Logf("%d restarts in %s; longest pause between commits %s; all finished %s after the last signal was sent",
		len(outages), time.Since(began).Round(time.Millisecond), longest.Round(time.Millisecond), took.Round(time.Millisecond))
	t.Logf("signals: %s; %d start attempts retried", &e.signalStats, e.startRetries.Load())
	t.Logf("audit: %s", rep)
}
