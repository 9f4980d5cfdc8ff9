package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
)

// inProcWorker is a worker in the test process on a NATS connection of its
// own (as another process would have).
type inProcWorker struct {
	w    *worker.Worker
	nc   *nats.Conn
	once sync.Once
	stop func()
}

// startInProcWorker connects to url, provisions ns and starts a worker
// with opts after register has registered its functions. It is stopped at
// the end of the test.
func startInProcWorker(t *testing.T, url, ns string, ackWait time.Duration, opts worker.Options, register func(*worker.Worker) error) *inProcWorker {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	b, err := streams.New(nc, streams.WithNamespace(ns), streams.WithAckWait(ackWait))
	require.NoError(t, err)
	w := worker.New(b, &opts)
	require.NoError(t, register(w))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Start(ctx))
	iw := &inProcWorker{w: w, nc: nc}
	iw.stop = func() {
		iw.once.Do(func() {
			cancel()
			_ = w.WaitForCompletion()
			nc.Close()
		})
	}
	t.Cleanup(iw.stop)
	return iw
}

// consumerInfo reads the state of one of the namespace's consumers
// (stream "TASKS" or "ACTIVITIES", consumer "wft_<queue>" or "wfa_<queue>").
func consumerInfo(ctx context.Context, js jetstream.JetStream, ns, stream, consumer string) (*jetstream.ConsumerInfo, error) {
	c, err := js.Consumer(ctx, "WF_"+ns+"_"+stream, consumer)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// eventually polls cond until it holds or within passes, then fails the
// test naming what it waited for.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, within, what, cond)
}

// inboxSettled reports whether the queue's inbox has nothing waiting,
// nothing delivered and unacknowledged, and (if wantWaiting >= 0) exactly
// that many pull requests outstanding.
func inboxSettled(ctx context.Context, js jetstream.JetStream, ns, queue string, wantWaiting int) bool {
	ci, err := consumerInfo(ctx, js, ns, "TASKS", "wft_"+queue)
	if err != nil {
		return false
	}
	return ci.NumPending == 0 && ci.NumAckPending == 0 && (wantWaiting < 0 || ci.NumWaiting == wantWaiting)
}
