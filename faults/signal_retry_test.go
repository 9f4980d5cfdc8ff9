package faults

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// TestSignalWithUnknownOutcomeIsOneSignal — REGRESSION TEST: a
// SignalWorkflow whose publish had an unknown outcome returned the
// timeout, and a caller that retried sent a second signal. Now the call
// publishes again with the same message ID, and the inbox holds the
// signal once, whether the publish itself or only its answer was lost.
// The client talks to a real server through a proxy that loses the one
// message; its backend's request timeout is short, so that the loss shows
// within the test.
func TestSignalWithUnknownOutcomeIsOneSignal(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(p *natsProxy, prefix string) <-chan trapReport
	}{
		{"publish lost", (*natsProxy).dropOnce},
		{"answer lost", (*natsProxy).loseAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t, time.Minute)
			srv, err := embedded.Start(embedded.Options{Port: embedded.RandomPort})
			require.NoError(t, err)
			t.Cleanup(srv.Shutdown)
			proxy := newNATSProxy(t, srv.ClientURL())
			nc, err := nats.Connect(proxy.URL())
			require.NoError(t, err)
			t.Cleanup(nc.Close)
			ns := newNamespace("sigretry")
			b, err := streams.New(nc, streams.WithNamespace(ns), streams.WithRequestTimeout(300*time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			c := client.New(b)

			// No worker runs: the inbox keeps what the client sent.
			_, err = c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: "target"}, "Anything")
			require.NoError(t, err)
			caught := tc.arm(proxy, "wft."+ns+".q.")
			require.NoError(t, c.SignalWorkflow(ctx, "target", "go", 1))
			select {
			case rep := <-caught:
				t.Logf("lost: %s", rep.Dropped)
			default:
				t.Fatal("the proxy lost nothing")
			}

			q, err := b.InboxQueue(ctx, streams.DefaultQueue)
			require.NoError(t, err)
			var kinds []string
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
				msgs, err := q.Fetch(ctx, 10, 200*time.Millisecond)
				require.NoError(t, err)
				for _, m := range msgs {
					require.NoError(t, m.Err)
					kinds = append(kinds, m.Event.Kind.String())
					require.NoError(t, m.AckSync(ctx))
				}
			}
			assert.Equal(t, []string{"WorkflowStarted", "SignalReceived"}, kinds)
		})
	}
}
