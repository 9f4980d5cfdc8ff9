package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
)

// TestLostCommitAnswerDoesNotStallRun — REGRESSION TEST for request
// deadlines (fixed in 84dc6b8, "every JetStream request bounded by the
// request timeout, even under a longer caller deadline").
//
// A request whose answer never comes (the node that got it died, the
// connection dropped while it was in flight) must fail after the
// backend's request timeout (streams.WithRequestTimeout, 5 s by default),
// so the worker can find out what happened and go on. The JetStream client
// applies its default timeout only to contexts without a deadline, and the
// worker runs each workflow task under one 2-minute context
// (worker.processTask): before the fix, such a task waited the full 2
// minutes, with the instance busy in that worker (its own redelivered
// message, and any later event of the instance the worker fetched, only
// queued behind it). This suite saw the same mechanism stall a client
// start for 2 minutes after a cluster node was SIGKILLed; the fix landed
// before this test first ran, so it has only been seen passing.
//
// The test loses one commit on its way to the server (a proxy between a
// single worker process and the server drops the publish; everything
// else goes through) and expects the run to complete within the request
// timeout plus a few ack waits.
func TestLostCommitAnswerDoesNotStallRun(t *testing.T) {
	rng := testRand(t)
	ctx := testContext(t, 3*time.Minute)
	srv := testenv.Server(t, testenv.Loopback())
	nc := testenv.Conn(t, srv)
	const (
		ackWait        = 2 * time.Second
		requestTimeout = 5 * time.Second // the test worker's backend uses the default
	)
	ns := newNamespace("lostanswer")
	proxy := newNATSProxy(t, srv.ClientURL())
	e := newEnv(t, nc, proxy.URL(), ns, ackWait, 1)
	dropped := proxy.dropOnce("wfh." + ns + ".")
	newProcSet(t, e.cfg).start("single")

	f := e.startFlows(ctx, rng, 1, 2)[0]
	for k := 1; k <= f.In.Signals; k++ {
		require.NoError(t, e.signalByClient(ctx, signalSend{flow: f, k: k}))
	}
	select {
	case rep := <-dropped:
		t.Logf("lost on the way: %s", rep.Dropped)
	case <-time.After(60 * time.Second):
		t.Fatal("the worker never committed")
	}
	lostAt := time.Now()
	within := requestTimeout + 3*ackWait + 10*time.Second
	for {
		r, err := e.b.GetInstance(ctx, f.ID)
		require.NoError(t, err)
		if r.Status.Finished() {
			break
		}
		if time.Since(lostAt) > within {
			t.Fatalf("the run is still %s %s after one commit was lost in transit (request timeout %s, ack wait %s): "+
				"does the worker wait for the commit's answer longer than the request timeout?",
				r.Status, within, requestTimeout, ackWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the run completed %s after its commit was lost", time.Since(lostAt).Round(time.Millisecond))
	t.Logf("audit: %s", e.audit(ctx, []*flowRun{f}))
}
