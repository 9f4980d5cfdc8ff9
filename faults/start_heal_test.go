package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
)

// TestStartHealFailureIsNotAlreadyExists — REGRESSION TEST of a bug this
// suite found (fixed in 381e43b, "ErrInstanceAlreadyExists only when the
// instance's start is stored; otherwise an error that says to start
// again").
//
// CreateWorkflowInstance writes the registry entry, then publishes the
// start event. When that publish fails, the error says "start it again
// with the same ID to finish the start", and the client's doc promises
// that a start of a running instance whose history is empty republishes
// the start event, "which gets the instance going", and returns an error
// matching ErrInstanceAlreadyExists. Before the fix, when that republish
// failed too (or the history read before it failed), client.alreadyRunning
// still returned an error matching ErrInstanceAlreadyExists, only with the
// failure in its text. A caller could not tell "it exists and runs" from
// "its start is still missing": one that stopped retrying at
// ErrInstanceAlreadyExists left an instance that never ran, whose
// signals were dead-lettered after UnknownNameTimeout. The crashed-leader
// cluster scenario hit this when a leader died during a start.
//
// The test gives a client a connection through a proxy that drops every
// publish to the inbox subjects, starts an instance (the start publish is
// lost, the call fails), starts it again as told (the republish is lost
// too), and checks the contract: an error matching
// ErrInstanceAlreadyExists must mean the start event is stored.
func TestStartHealFailureIsNotAlreadyExists(t *testing.T) {
	ctx := testContext(t, time.Minute)
	srv, e := newLocalEnv(t, "heal", 2*time.Second)
	ns := e.ns

	proxy := newNATSProxy(t, srv.ClientURL())
	pc := e.clientVia(proxy)
	lost := proxy.blackhole("wft." + ns + ".q.")

	in := Input{N: 1, Signals: 0, Timer: time.Millisecond}
	try, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := pc.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: "orphan"}, Flow, in)
	cancel()
	require.Error(t, err, "the start event was dropped on its way")
	require.False(t, errors.Is(err, client.ErrInstanceAlreadyExists), "first start: %v", err)
	t.Logf("first start: %v", err)
	select {
	case rep := <-lost:
		t.Logf("dropped: %s", rep.Dropped)
	default:
		t.Fatal("the proxy saw no start event")
	}

	// "start it again with the same ID to finish the start"
	try, cancel = context.WithTimeout(ctx, 2*time.Second)
	_, err = pc.CreateWorkflowInstance(try, client.WorkflowInstanceOptions{InstanceID: "orphan"}, Flow, in)
	cancel()
	t.Logf("second start: %v", err)
	require.Error(t, err)

	s, serr := e.b.JetStream().Stream(ctx, "WF_"+ns+"_TASKS")
	require.NoError(t, serr)
	info, serr := s.Info(ctx, jetstream.WithSubjectFilter("wft."+ns+".q.default.orphan"))
	require.NoError(t, serr)
	stored := info.State.Msgs > 0 && len(info.State.Subjects) > 0
	if errors.Is(err, client.ErrInstanceAlreadyExists) && !stored {
		t.Fatalf("REGRESSION: the second start returned an error matching ErrInstanceAlreadyExists, but no start event is stored: "+
			"the instance is registered as running and will never run (%v)", err)
	}
}
