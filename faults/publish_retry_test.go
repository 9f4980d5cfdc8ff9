package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
)

// TestPublishRetriesAnUnansweredAttempt — REGRESSION TEST for the failover
// pause after a SIGKILLed stream leader (issue 23): a publish in flight to
// a leader that dies is never answered, and the backend waited its whole
// request timeout (5 s by default) for that answer before the commit's
// outcome was looked up — while the new leader, elected meanwhile, would
// have taken it. Publish now sends a commit or a message with a message ID
// again after a per-attempt timeout (1 s, doubling), within the request
// timeout.
//
// A proxy between the backend and a real server loses one publish on its
// way (the server never sees it), or stores it and loses the answer. The
// backend's request timeout is 10 s and each operation gets exactly that:
// before the fix, a lost commit or event failed at its end ("outcome
// unknown"); now the retry stores it. A stored publish whose answer was
// lost is kept once: the commit's retry is refused ("wrong last sequence")
// and recognised as its own; the event's is a duplicate by its ID. A
// registry write is sent once: a lost answer is an unknown outcome (a
// timeout), never "instance exists", and a late answer is waited for (a
// resend after 250 ms, tried first, failed starts under load: the resend
// was refused for the slow first attempt's sake).
func TestPublishRetriesAnUnansweredAttempt(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	srv := testenv.Server(t, testenv.Loopback())
	nc := testenv.Conn(t, srv)
	ns := newNamespace("pubretry")
	e := newEnv(t, nc, srv.ClientURL(), ns, 2*time.Second, 1)
	proxy := newNATSProxy(t, srv.ClientURL())
	pnc, err := nats.Connect(proxy.URL())
	require.NoError(t, err)
	t.Cleanup(pnc.Close)
	const requestTimeout = 10 * time.Second
	b, err := streams.New(pnc, streams.WithNamespace(ns), streams.WithRequestTimeout(requestTimeout))
	require.NoError(t, err)

	// stored counts the messages of subject in stream.
	stored := func(stream, subject string) uint64 {
		s, err := e.b.JetStream().Stream(ctx, stream)
		require.NoError(t, err)
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		require.NoError(t, err)
		return info.State.Subjects[subject]
	}
	lose := map[string]func(prefix string) <-chan trapReport{
		"lost on its way": proxy.dropOnce,
		"answer lost":     proxy.loseAnswer,
	}
	for _, how := range []string{"lost on its way", "answer lost"} {
		t.Run("commit "+how, func(t *testing.T) {
			inst := testenv.UniqueName("c")
			key, err := streams.EncodeInstanceID(inst)
			require.NoError(t, err)
			subject := "wfh." + ns + "." + key + ".r"
			fired := lose[how](subject)
			c := &history.Commit{Events: []history.Event{{Kind: history.WorkflowStarted, Name: "W"}}}
			octx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			seq, err := b.Commit(octx, inst, "r", 0, c)
			require.NoError(t, err, "the commit was retried within the request timeout")
			requireFired(t, fired)
			h, err := e.b.ReadHistory(ctx, inst, "r")
			require.NoError(t, err)
			require.Len(t, h.Commits, 1, "stored once")
			assert.Equal(t, c.ID, h.Commits[0].ID)
			assert.Equal(t, h.LastSeq, seq, "the sequence it was stored at")
		})
		t.Run("inbox event "+how, func(t *testing.T) {
			inst := testenv.UniqueName("e")
			key, err := streams.EncodeInstanceID(inst)
			require.NoError(t, err)
			subject := "wft." + ns + ".q.default." + key
			fired := lose[how](subject)
			ev := &history.Event{Kind: history.SignalReceived, Name: "s", InboxID: testenv.UniqueName("sig"), Time: time.Now().UTC()}
			octx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			require.NoError(t, b.PublishEvent(octx, "default", inst, ev), "the event was retried within the request timeout")
			requireFired(t, fired)
			assert.EqualValues(t, 1, stored("WF_"+ns+"_TASKS", subject), "stored once")
		})
	}
	// A commit whose every attempt goes unanswered, where another commit
	// took its place meanwhile: its outcome is known after all (it can
	// only be stored right after the sequence it expected, and another
	// commit is there), so it is a conflict, re-run at once, not an
	// unknown outcome left to the task retry's backoff.
	t.Run("commit unanswered behind another", func(t *testing.T) {
		inst := testenv.UniqueName("k")
		key, err := streams.EncodeInstanceID(inst)
		require.NoError(t, err)
		_, err = e.b.Commit(ctx, inst, "r", 0, &history.Commit{Events: []history.Event{{Kind: history.WorkflowStarted, Name: "W"}}})
		require.NoError(t, err)
		fired := proxy.blackhole("wfh." + ns + "." + key + ".r")
		defer proxy.disarm()
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err = b.Commit(octx, inst, "r", 0, &history.Commit{Events: []history.Event{{Kind: history.WorkflowStarted, Name: "W"}}})
		requireFired(t, fired)
		require.ErrorIs(t, err, streams.ErrConflict)
	})
	t.Run("registry create answer lost", func(t *testing.T) {
		inst := testenv.UniqueName("r")
		key, err := streams.EncodeInstanceID(inst)
		require.NoError(t, err)
		fired := proxy.loseAnswer("$KV.wf_" + ns + "_instances." + key)
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := &history.Event{Kind: history.WorkflowStarted, Name: "W", Queue: "default", ExecutionID: "r1", Time: time.Now().UTC()}
		_, err = b.CreateInstance(octx, streams.NewRunRecord(inst, start))
		requireFired(t, fired)
		// Its own retry refused is not someone else's instance.
		require.Error(t, err)
		assert.False(t, errors.Is(err, streams.ErrInstanceExists), "reported as existing: %v", err)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "an unknown outcome, as a timeout")
		r, err := e.b.GetInstance(ctx, inst)
		require.NoError(t, err)
		assert.Equal(t, "r1", r.ExecutionID)
	})
}

// A registry write answered late (the proxy holds all traffic for longer
// than a resend would wait) succeeds: it is not sent again.
func TestRegistryWriteAnsweredLate(t *testing.T) {
	ctx := testContext(t, time.Minute)
	srv := testenv.Server(t, testenv.Loopback())
	nc := testenv.Conn(t, srv)
	ns := newNamespace("latereg")
	newEnv(t, nc, srv.ClientURL(), ns, 2*time.Second, 1)
	proxy := newNATSProxy(t, srv.ClientURL())
	pnc, err := nats.Connect(proxy.URL())
	require.NoError(t, err)
	t.Cleanup(pnc.Close)
	b, err := streams.New(pnc, streams.WithNamespace(ns), streams.WithRequestTimeout(20*time.Second))
	require.NoError(t, err)

	proxy.freeze()
	done := make(chan error, 1)
	go func() {
		start := &history.Event{Kind: history.WorkflowStarted, Name: "W", Queue: "default", ExecutionID: "r1", Time: time.Now().UTC()}
		_, err := b.CreateInstance(ctx, streams.NewRunRecord("late", start))
		done <- err
	}()
	// Held for longer than publishAttemptTimeout doubled: a resend would
	// have gone out by then.
	time.Sleep(2500 * time.Millisecond)
	proxy.thaw()
	require.NoError(t, <-done)
}

func requireFired(t *testing.T, fired <-chan trapReport) {
	t.Helper()
	select {
	case rep := <-fired:
		t.Logf("%s: %s", t.Name(), rep.Dropped)
	default:
		t.Fatal("the proxy lost nothing: the publish went another way")
	}
}
