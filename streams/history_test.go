package streams

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func testCommit(i int) *history.Commit {
	return &history.Commit{Events: []history.Event{
		{Kind: history.ActivityCompleted, ID: int64(2*i + 1), ScheduleID: int64(i), Time: time.Unix(int64(i), 0).UTC(), Result: []byte{byte(i)}},
		{Kind: history.TimerScheduled, ID: int64(2*i + 2), Time: time.Unix(int64(i), 0).UTC(), FireAt: time.Unix(int64(i)+60, 0).UTC()},
	}}
}

// commitN appends n commits to a run, each expecting the previous one.
func commitN(t testing.TB, b *Backend, inst, run string, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var last uint64
	for i := 0; i < n; i++ {
		seq, err := b.Commit(ctx, inst, run, last, testCommit(i))
		require.NoError(t, err)
		last = seq
	}
	return last
}

func TestCommitAndReadHistory(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)

	empty, err := b.ReadHistory(ctx, "order.42", "run1")
	require.NoError(t, err)
	assert.Empty(t, empty.Commits)
	assert.Zero(t, empty.LastSeq)

	first := commitN(t, b, "order.42", "run1", 1)
	seq, err := b.Commit(ctx, "order.42", "run1", first, testCommit(1))
	require.NoError(t, err)
	commitN(t, b, "order.42", "run2", 1) // another run of the same instance
	last, err := b.Commit(ctx, "order.42", "run1", seq, testCommit(2))
	require.NoError(t, err)
	commitN(t, b, "order-42", "run1", 1) // an instance whose raw ID looks alike

	h, err := b.ReadHistory(ctx, "order.42", "run1")
	require.NoError(t, err)
	require.Len(t, h.Commits, 3)
	assert.Equal(t, last, h.LastSeq)
	for i, c := range h.Commits {
		assert.Equal(t, testCommit(i).Events, c.Events, "commit %d", i)
		assert.NotEmpty(t, c.ID)
	}
	assert.Len(t, h.Events(), 6)

	after, err := b.ReadHistoryAfter(ctx, "order.42", "run1", first)
	require.NoError(t, err)
	require.Len(t, after.Commits, 2)
	assert.Equal(t, h.Commits[1], after.Commits[0])
	assert.Equal(t, last, after.LastSeq)

	none, err := b.ReadHistoryAfter(ctx, "order.42", "run1", last)
	require.NoError(t, err)
	assert.Empty(t, none.Commits)
	assert.Equal(t, last, none.LastSeq, "LastSeq stays at the sequence read after")
}

func TestReadLongHistory(t *testing.T) {
	b := newBackend(t)
	const n = 2*directBatchSize + 17 // several direct-get batches
	last := commitN(t, b, "long", "run", n)
	h, err := b.ReadHistory(testContext(t), "long", "run")
	require.NoError(t, err)
	require.Len(t, h.Commits, n)
	assert.Equal(t, last, h.LastSeq)
	for i, c := range h.Commits {
		require.Equal(t, int64(2*i+1), c.Events[0].ID, "commit %d out of order", i)
	}
}

// directGets counts the direct-get requests sent on the backend's server.
func directGets(t *testing.T, b *Backend) *atomic.Int64 {
	var n atomic.Int64
	sub, err := b.nc.Subscribe("$JS.API.DIRECT.GET.>", func(*nats.Msg) { n.Add(1) })
	require.NoError(t, err)
	t.Cleanup(func() { sub.Unsubscribe() })
	require.NoError(t, b.nc.Flush())
	return &n
}

// A short history comes back in one request: a batch short of the caps
// ends the read even though, without headers, the server's pending count
// never says so.
func TestReadShortHistoryInOneRequest(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	commitN(t, b, "other", "run", 5) // the stream holds more than this run
	last := commitN(t, b, "short", "run", 3)
	commitN(t, b, "other", "run2", 5)
	gets := directGets(t, b)
	h, err := b.ReadHistory(ctx, "short", "run")
	require.NoError(t, err)
	require.Len(t, h.Commits, 3)
	assert.Equal(t, last, h.LastSeq)
	require.NoError(t, b.nc.Flush())
	assert.EqualValues(t, 1, gets.Load())
}

// A batch the server cuts by bytes is not taken for the end.
func TestReadHistoryCutByBytes(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	big := make([]byte, 600<<10)
	const n = 20 // 12 MB: more than one batch's bytes
	var last uint64
	for i := range n {
		c := &history.Commit{Events: []history.Event{{Kind: history.ActivityCompleted, ID: int64(i + 1), ScheduleID: 1, Result: big}}}
		seq, err := b.Commit(ctx, "big", "run", last, c)
		require.NoError(t, err)
		last = seq
	}
	gets := directGets(t, b)
	h, err := b.ReadHistory(ctx, "big", "run")
	require.NoError(t, err)
	require.Len(t, h.Commits, n)
	assert.Equal(t, last, h.LastSeq)
	require.NoError(t, b.nc.Flush())
	assert.Greater(t, gets.Load(), int64(1), "more than one batch")
}

func TestCommitConflict(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	first, err := b.Commit(ctx, "i", "r", 0, testCommit(0))
	require.NoError(t, err)

	_, err = b.Commit(ctx, "i", "r", 0, testCommit(1))
	require.ErrorIs(t, err, ErrConflict, "a second commit expecting an empty run")

	_, err = b.Commit(ctx, "i", "r", first+100, testCommit(1))
	require.ErrorIs(t, err, ErrConflict, "a commit expecting a sequence that does not exist")

	_, err = b.Commit(ctx, "i", "r", first, testCommit(1))
	require.NoError(t, err)
}

// raceCommits has 50 goroutines commit to one run expecting the same last
// sequence: exactly one may win.
func raceCommits(t *testing.T, b *Backend) {
	ctx := testContext(t)
	base, err := b.Commit(ctx, "contended", "run", 0, testCommit(0))
	require.NoError(t, err)

	const n = 50
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex
		wins      int
		conflicts int
		others    []error
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := b.Commit(ctx, "contended", "run", base, testCommit(i+1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, others)
	assert.Equal(t, 1, wins)
	assert.Equal(t, n-1, conflicts)

	h, err := b.ReadHistory(ctx, "contended", "run")
	require.NoError(t, err)
	assert.Len(t, h.Commits, 2, "the history holds the first commit and the one winner")
}

func TestCommitRace(t *testing.T) {
	raceCommits(t, newBackend(t))
}

func TestCommitRecognisesItsOwnCommit(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	c := testCommit(0)
	seq, err := b.Commit(ctx, "i", "r", 0, c)
	require.NoError(t, err)
	require.NotEmpty(t, c.ID)

	// The same commit again, as after a publish whose answer was lost: it
	// is found in the history, not stored twice, and not a conflict.
	again := &history.Commit{ID: c.ID, Events: c.Events}
	seq2, err := b.Commit(ctx, "i", "r", 0, again)
	require.NoError(t, err)
	assert.Equal(t, seq, seq2)

	h, err := b.ReadHistory(ctx, "i", "r")
	require.NoError(t, err)
	assert.Len(t, h.Commits, 1)

	// Another commit with the same expectation is still a conflict.
	_, err = b.Commit(ctx, "i", "r", 0, testCommit(1))
	require.ErrorIs(t, err, ErrConflict)
}

func TestCommitErrors(t *testing.T) {
	b := newBackend(t, WithPayloadThreshold(-1)) // "too large": kept inline
	ctx := testContext(t)
	big := &history.Commit{Events: []history.Event{{Kind: history.WorkflowCompleted, Result: make([]byte, 2<<20)}}}
	tests := []struct {
		name     string
		inst     string
		run      string
		commit   *history.Commit
		wantIs   error
		contains string
	}{
		{"empty instance", "", "r", testCommit(0), ErrInvalidName, "instance ID is empty"},
		{"bad run", "i", "r.1", testCommit(0), ErrInvalidName, "execution ID"},
		{"no events", "i", "r", &history.Commit{}, nil, "no events"},
		{"nil commit", "i", "r", nil, nil, "no events"},
		{"unknown kind", "i", "r", &history.Commit{Events: []history.Event{{Kind: 200}}}, nil, "unknown event kind 200"},
		{"too large", "i", "r", big, ErrPayloadTooLarge, "continue as new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Commit(ctx, tt.inst, tt.run, 0, tt.commit)
			require.Error(t, err)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
	h, err := b.ReadHistory(ctx, "i", "r")
	require.NoError(t, err)
	assert.Empty(t, h.Commits, "failed commits store nothing")
}

func TestReadHistoryRejectsMalformedCommit(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	_, err := b.js.Publish(ctx, b.n.history("bad", "run"), []byte("not a commit"))
	require.NoError(t, err)
	_, err = b.ReadHistory(ctx, "bad", "run")
	require.ErrorIs(t, err, history.ErrMalformed)
	assert.Contains(t, err.Error(), "commit 1 after sequence 0")
}

func TestDeleteHistory(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	commitN(t, b, "gone", "r1", 2)
	commitN(t, b, "gone", "r2", 2)
	commitN(t, b, "kept", "r1", 1)
	require.NoError(t, b.DeleteHistory(ctx, "gone"))
	for _, run := range []string{"r1", "r2"} {
		h, err := b.ReadHistory(ctx, "gone", run)
		require.NoError(t, err)
		assert.Empty(t, h.Commits)
	}
	h, err := b.ReadHistory(ctx, "kept", "r1")
	require.NoError(t, err)
	assert.Len(t, h.Commits, 1)
}

func BenchmarkCommit(b *testing.B) {
	be := newBackend(b)
	ctx := context.Background()
	var last uint64
	c := testCommit(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.ID = ""
		seq, err := be.Commit(ctx, "bench", "run", last, c)
		if err != nil {
			b.Fatal(err)
		}
		last = seq
	}
}

func BenchmarkReadHistory(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("commits=%d", n), func(b *testing.B) {
			be := newBackend(b)
			commitN(b, be, "bench", "run", n)
			// Noise from other runs in the stream, as in real use.
			for i := 0; i < 50; i++ {
				commitN(b, be, "other-"+strings.Repeat("x", i%3), fmt.Sprintf("r%d", i), 5)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, err := be.ReadHistory(ctx, "bench", "run")
				if err != nil || len(h.Commits) != n {
					b.Fatal(err, len(h.Commits))
				}
			}
		})
	}
}
