package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
)

// TestSignalBeforeDelayedStartWaits — REGRESSION TEST of a bug this suite
// found (fixed in cd4bd39, "events of a registered run whose start is late
// wait instead of being dead-lettered").
//
// An event that reaches a run's inbox before the run's start has been
// committed waits: the worker hands it back (every TaskRetryDelay) until
// the start arrives. Before the fix, after UnknownNameTimeout (30 s by
// default, counted from the event's publish) the worker dead-lettered it
// as "event for a run that never started" (worker.newRun), without asking
// whether the run exists. It did: the registry named it as the instance's
// running run, and client.SignalWorkflow accepted the signal because of
// that. When the start was late — its starter died between the registry
// write and the start publish and retries later, as the client documents;
// or, as seen in the crashed-leader cluster scenario, the start was handed
// back for 51 s after one failed commit because its batch's first message
// had been delivered 11 times (retryTaskLater's backoff grows with the
// delivery count, which the waiting path inflates at 1/TaskRetryDelay) —
// the signal was gone, and the run, once started, waited for it forever.
//
// The test registers a run whose start publish is lost (a proxy drops it),
// signals it (accepted), lets the signal wait longer than the worker's
// UnknownNameTimeout (2 s here), then finishes the start as the client
// says (the same call again) and expects the run to complete with the
// signal. Before the fix the signal was dead-lettered and the run never
// completed.
func TestSignalBeforeDelayedStartWaits(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	srv, e := newLocalEnv(t, "early", 2*time.Second)
	ns := e.ns
	const unknownTimeout = 2 * time.Second
	e.cfg.unknownTimeout = unknownTimeout
	newProcSet(t, e.cfg).start("w")

	// A starter whose start event is lost on the way.
	proxy := newNATSProxy(t, srv.ClientURL())
	starter := e.clientVia(proxy)
	proxy.blackhole("wft." + ns + ".q.")
	f := &flowRun{ID: "late", In: Input{N: 7, Signals: 1, Timer: 200 * time.Millisecond}}
	try, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := starter.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: f.ID}, Flow, f.In)
	cancel()
	require.Error(t, err, "the start event was dropped")
	proxy.disarm()

	// The registry says the instance runs: the signal is accepted.
	require.NoError(t, e.signalByClient(ctx, signalSend{flow: f, k: 1}))
	signaled := time.Now()
	dead, err := e.b.JetStream().Stream(ctx, "WF_"+ns+"_DEAD")
	require.NoError(t, err)
	deadLettered := func() bool {
		info, err := dead.Info(ctx)
		return err == nil && info.State.Msgs > 0
	}
	// The signal waits longer than the worker's UnknownNameTimeout (or
	// until it is dead-lettered, which was the bug).
	eventually(t, 30*time.Second, "the signal to wait out the worker's UnknownNameTimeout", func() bool {
		return deadLettered() || time.Since(signaled) > 3*unknownTimeout
	})
	if deadLettered() {
		t.Logf("the signal was dead-lettered %s after it was sent", time.Since(signaled).Round(time.Millisecond))
	}

	// The starter comes back and finishes the start, as the client says.
	try, cancel = context.WithTimeout(ctx, 5*time.Second)
	_, err = starter.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: f.ID}, Flow, f.In)
	cancel()
	require.True(t, errors.Is(err, client.ErrInstanceAlreadyExists), "second start: %v", err)
	run, ok := "", false
	eventually(t, 30*time.Second, "the run to start", func() bool { run, ok = e.runStarted(ctx, f.ID); return ok })
	f.Run = run

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("REGRESSION? dead-lettered: %v (an event for a run the registry knows as running must wait for the run's start, not be dropped after UnknownNameTimeout)", deadLettered())
		}
	})
	e.waitFinished(ctx, []*flowRun{f}, 60*time.Second)
	t.Logf("audit: %s", e.audit(ctx, []*flowRun{f}))
}
