package streams

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv/rounds"
	"github.com/jetflow/jetflow/streams/embedded"
)

// readAfterWriteRounds is how many times each read-after-write test writes
// and at once reads back through each follower, readAfterWriteParallel at
// a time.
const (
	readAfterWriteRounds   = 250
	readAfterWriteParallel = 16
)

// warmUp makes one conditional write to the registry, and so to the index,
// before a test writes in parallel. nats-server 2.15.2 sets up a stream
// leader's state for expected-sequence checks on the first such write
// without a lock its apply loop reads under; a parallel first write can
// trip the race detector inside the server.
func warmUp(t *testing.T, b *Backend) {
	t.Helper()
	_, err := b.CreateInstance(testContext(t), NewRunRecord("warm-up", testStart("r0")))
	require.NoError(t, err)
}

// followerBackends opens b's namespace through a connection to each node
// that is not the leader of stream: its own replica answers the
// connection's direct gets of that stream.
func followerBackends(t *testing.T, c *embedded.Cluster, b *Backend, stream string) []*Backend {
	t.Helper()
	ctx := testContext(t)
	s, err := b.js.Stream(ctx, stream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	leader := c.NodeIndex(info.Cluster.Leader)
	require.GreaterOrEqual(t, leader, 0, "leader %q", info.Cluster.Leader)
	var out []*Backend
	for i := range c.Size() {
		if i == leader {
			continue
		}
		nc, err := nats.Connect(c.NodeURL(i), nats.Name("jetflow-follower"))
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		fb, err := Open(nc, WithNamespace(b.n.ns), WithRequestTimeout(10*time.Second))
		require.NoError(t, err)
		out = append(out, fb)
	}
	return out
}

// inParallel runs round(b, i) for i in [0, readAfterWriteRounds) on each
// backend, readAfterWriteParallel at a time per backend, and returns how
// many rounds reported a stale read.
func inParallel(t *testing.T, bs []*Backend, round func(b *Backend, name string) (stale bool, err error)) int {
	t.Helper()
	stale, err := rounds.Count(bs, readAfterWriteParallel, readAfterWriteRounds, "f", round)
	require.NoError(t, err)
	return stale
}

func testStart(run string) *history.Event {
	return &history.Event{Kind: history.WorkflowStarted, Time: time.Now().UTC(), ExecutionID: run, Name: "wf", Queue: DefaultQueue}
}

// keepBusy writes other keys of the registry, up to 256 unacknowledged at
// a time, until the test ends, as a namespace in use keeps its replicas
// busy: a follower then applies a write a little after the leader
// acknowledges it, as under load.
func keepBusy(t *testing.T, b *Backend) {
	t.Helper()
	js, err := jetstream.New(b.nc, jetstream.WithPublishAsyncMaxPending(256))
	require.NoError(t, err)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := js.PublishAsync(fmt.Sprintf("$KV.%s.busy-%d", b.n.registryBucket(), i%64), []byte(`{}`)); err != nil {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// An instance read right after its create is found, and one read right
// after an update shows the update, whichever replica answers the read.
func TestClusterGetInstanceAfterWrite(t *testing.T) {
	c, b := startCluster(t)
	ctx, cancel := contextWithTimeout(t, 2*time.Minute)
	defer cancel()
	warmUp(t, b)
	keepBusy(t, b)
	fbs := followerBackends(t, c, b, "KV_"+b.n.registryBucket())
	var notFound, old atomic.Int64
	stale := inParallel(t, fbs, func(fb *Backend, id string) (bool, error) {
		rec := NewRunRecord(id, testStart("r1"))
		if _, err := fb.CreateInstance(ctx, rec); err != nil {
			return false, err
		}
		got, err := fb.GetInstance(ctx, id)
		if errors.Is(err, ErrInstanceNotFound) {
			notFound.Add(1)
			return true, nil
		}
		if err != nil {
			return false, err
		}
		got.Status = StatusCompleted
		if _, err := fb.UpdateInstance(ctx, got, got.Revision); err != nil {
			return false, err
		}
		if got, err = fb.GetInstance(ctx, id); err != nil {
			return false, err
		}
		if got.Status != StatusCompleted {
			old.Add(1)
			return true, nil
		}
		return false, nil
	})
	t.Logf("not found %d, old %d", notFound.Load(), old.Load())
	require.Zero(t, stale, "reads that missed the write just made, of %d", 2*readAfterWriteRounds)
}

func TestOwnRevisions(t *testing.T) {
	tests := []struct {
		name  string
		marks func(o *ownRevisions)
		want  uint64
	}{
		{"never written", func(o *ownRevisions) {}, 0},
		{"written", func(o *ownRevisions) { o.note("k", 5) }, 5},
		{"an older mark does not lower it", func(o *ownRevisions) { o.note("k", 5); o.note("k", 3) }, 5},
		{"deleted", func(o *ownRevisions) { o.note("k", 5); o.noteDeleted("k") }, ownDeleted},
		{"written after its delete", func(o *ownRevisions) { o.noteDeleted("k"); o.note("k", 9) }, 9},
		{"another key", func(o *ownRevisions) { o.note("j", 5) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o ownRevisions
			tt.marks(&o)
			require.Equal(t, tt.want, o.least("k"))
		})
	}
}

// The marks are bounded: past ownRevisionsKept keys, old ones are dropped.
func TestOwnRevisionsBounded(t *testing.T) {
	var o ownRevisions
	for i := range 3 * ownRevisionsKept {
		o.note(fmt.Sprintf("k%d", i), uint64(i+1))
	}
	require.LessOrEqual(t, len(o.revs), ownRevisionsKept)
	last := fmt.Sprintf("k%d", 3*ownRevisionsKept-1)
	require.Equal(t, uint64(3*ownRevisionsKept), o.least(last), "the newest mark is kept")
}
