package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
)

// TestFailedRepublishIsHandedBack — REGRESSION TEST of a bug this suite
// found (fixed in cd4bd39, "a failed recovery of side effects hands the
// messages back").
//
// After a commit, a worker whose side-effect publish fails hands the
// task's messages back; the redelivered message finds its event committed
// and the worker republishes the commit's effects (worker.recoverEffects).
// Before the fix, recoverEffects only logged when that republish failed
// (or when reading the history for it failed), and runTask then
// acknowledged the messages: the effects were gone for good, and the run
// waited forever. It took only
// a stream that cannot take the publish twice in a row — its leader died
// and the election outlasts one redelivery, as in the crashed-leader
// cluster scenario, where up to a third of the runs were lost this way
// (their activity tasks were never published).
//
// The test runs one worker process behind a proxy that loses every
// publish of an activity task (the worker's request times out after 1 s)
// until two were lost — the first publish after the commit and the
// republish of the recovery — then lets them through again. Expected: the
// recovery, failing, hands the message back, and a later one publishes
// the tasks; the run completes. Before the fix the run was stuck with
// nothing left in any queue.
func TestFailedRepublishIsHandedBack(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("REGRESSION: did worker.recoverEffects ignore a failed republish and the task ack its messages? (see the test's comment)")
		}
	})
	rng := testRand(t)
	ctx := testContext(t, 2*time.Minute)
	srv := testenv.Server(t, testenv.Loopback())
	nc := testenv.Conn(t, srv)
	ns := newNamespace("republish")
	proxy := newNATSProxy(t, srv.ClientURL())
	e := newEnv(t, nc, proxy.URL(), ns, 2*time.Second, 1)
	e.cfg.reqTimeout = time.Second
	first := proxy.blackhole("wfa." + ns + ".")
	newProcSet(t, e.cfg).start("single")

	f := e.startFlows(ctx, rng, 1, 2)[0]
	for k := 1; k <= f.In.Signals; k++ {
		require.NoError(t, e.signalByClient(ctx, signalSend{flow: f, k: k}))
	}
	select {
	case rep := <-first:
		t.Logf("lost: %s", rep.Dropped)
	case <-time.After(60 * time.Second):
		t.Fatal("the worker never published an activity task")
	}
	eventually(t, 60*time.Second, "the recovery's republish to be lost too", func() bool { return proxy.drops() >= 2 })
	n := proxy.drops()
	proxy.disarm()
	t.Logf("%d activity-task publishes lost; the stream takes them again", n)
	e.waitFinished(ctx, []*flowRun{f}, 60*time.Second)
	t.Logf("audit: %s", e.audit(ctx, []*flowRun{f}))
}
