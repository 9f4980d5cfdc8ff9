package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// An idle worker stops at once, not after its poll wait: the waiting
// fetches end with the worker's context.
func TestIdleWorkerStopsWithoutWaitingOutItsPoll(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{})
	require.NoError(t, err)
	defer srv.Shutdown()
	nc, err := srv.Connect()
	require.NoError(t, err)
	defer nc.Close()
	b, err := streams.New(nc)
	require.NoError(t, err)
	w := New(b, &Options{PollWait: 10 * time.Minute})
	require.NoError(t, w.RegisterWorkflow(sumWorkflow))
	require.NoError(t, w.RegisterActivity(add))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Start(ctx))

	// Wait until both pollers sit in a pull request on their consumers.
	tasks, err := b.JetStream().Consumer(context.Background(), "WF_default_TASKS", "wft_default")
	require.NoError(t, err)
	acts, err := b.JetStream().Consumer(context.Background(), "WF_default_ACTIVITIES", "wfa_default")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ti, err1 := tasks.Info(context.Background())
		ai, err2 := acts.Info(context.Background())
		return err1 == nil && err2 == nil && ti.NumWaiting > 0 && ai.NumWaiting > 0
	}, 30*time.Second, 10*time.Millisecond, "the pollers to wait for messages")

	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- w.WaitForCompletion() }()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(time.Minute): // far below the 10-minute poll wait it used to sit out
		t.Fatal("the idle worker did not stop within a minute of its context ending")
	}
}
