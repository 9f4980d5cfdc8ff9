package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
)

// TestSignalQueuedBeforeStartComesAfterIt — REGRESSION TEST of a bug this
// suite found (fixed in the engine: "a run's first task applies
// WorkflowStarted first").
//
// A run's first task may take a signal and the run's start in one batch,
// with the signal first: the inbox holds them in that order whenever the
// start was published after the signal (a starter that lost its start
// publish and finished the start later, as the client documents, after
// someone signaled the registered run), and redeliveries reorder the
// inbox too (a start handed back with a delay, a waiting signal handed
// back sooner). The executor then accepts the signal before the start and
// the first commit of the run was [SignalReceived(1), WorkflowStarted(2),
// ...]. Every later load of the run refuses that history ("engine: bad
// history: the run's history starts with SignalReceived",
// worker.loadRun), so the run is stuck for good, its messages redelivered
// without end. Seen in the crashed-leader cluster scenario (35,000
// deliveries of 12 messages in 3 minutes, 3 runs stuck).
//
// The test makes the inbox order [signal, start] with the client API only
// (the first start's publish is lost by a proxy, the signal is accepted,
// the start is finished by calling CreateWorkflowInstance again) before
// any worker runs, then starts a worker. Expected: the history begins
// with WorkflowStarted and the run completes with the signal.
func TestSignalQueuedBeforeStartComesAfterIt(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	srv, e := newLocalEnv(t, "sigfirst", 2*time.Second)
	ns := e.ns

	proxy := newNATSProxy(t, srv.ClientURL())
	starter := e.clientVia(proxy)

	f := &flowRun{ID: "sigfirst", In: Input{N: 3, Signals: 1, Timer: 200 * time.Millisecond}}
	proxy.blackhole("wft." + ns + ".q.")
	try, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := starter.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: f.ID}, Flow, f.In)
	cancel()
	require.Error(t, err, "the start event was dropped")
	proxy.disarm()
	require.NoError(t, e.signalByClient(ctx, signalSend{flow: f, k: 1}))
	try, cancel = context.WithTimeout(ctx, 5*time.Second)
	_, err = starter.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: f.ID}, Flow, f.In)
	cancel()
	require.True(t, errors.Is(err, client.ErrInstanceAlreadyExists), "finishing the start: %v", err)
	r, err := e.b.GetInstance(ctx, f.ID)
	require.NoError(t, err)
	f.Run = r.ExecutionID

	newProcSet(t, e.cfg).start("w")
	var first history.Event
	eventually(t, 30*time.Second, "the run's first commit", func() bool {
		h, err := e.b.ReadHistory(ctx, f.ID, f.Run)
		if err != nil || len(h.Commits) == 0 {
			return false
		}
		first = h.Commits[0].Events[0]
		return true
	})
	if first.Kind != history.WorkflowStarted {
		t.Fatalf("BUG: the run's history begins with %v (event %d), not WorkflowStarted: no worker can load it again", first.Kind, first.ID)
	}
	e.waitFinished(ctx, []*flowRun{f}, 60*time.Second)
	t.Logf("audit: %s", e.audit(ctx, []*flowRun{f}))
}
