package faults

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// holdHook holds the first workflow task (per instance) that reaches it,
// until the test releases it; later ones pass.
type holdHook struct {
	mu      sync.Mutex
	calls   map[string][]string // instance → workers, in call order
	release map[string]chan struct{}
	reached chan hookCall
}

type hookCall struct {
	worker, instance string
	n                int // 1 for the first call of the instance
}

func newHoldHook() *holdHook {
	return &holdHook{calls: map[string][]string{}, release: map[string]chan struct{}{}, reached: make(chan hookCall, 64)}
}

func (h *holdHook) releaseOf(inst string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release[inst] == nil {
		h.release[inst] = make(chan struct{})
	}
	return h.release[inst]
}

func (h *holdHook) reach(worker, inst string) {
	h.mu.Lock()
	h.calls[inst] = append(h.calls[inst], worker)
	n := len(h.calls[inst])
	h.mu.Unlock()
	rel := h.releaseOf(inst)
	h.reached <- hookCall{worker: worker, instance: inst, n: n}
	if n == 1 {
		<-rel
	}
}

// racer is the workflow of TestConcurrentWorkersOneCommitWins, as worker
// name registers it: after the first activity's result it reaches the hook
// (only when processing that result anew, not on replay).
func racer(name string, h *holdHook) func(workflow.Context, int) (int, error) {
	return func(ctx workflow.Context, n int) (int, error) {
		opts := workflow.ActivityOptions{StartToCloseTimeout: time.Minute}
		r1, err := workflow.ExecuteActivity[int](ctx, opts, "Double", n).Get(ctx)
		if err != nil {
			return 0, err
		}
		if !workflow.Replaying(ctx) {
			//jetflowvet:ignore a test hook outside replay holds the worker at a chosen point
			h.reach(name, workflow.GetInfo(ctx).InstanceID)
		}
		return workflow.ExecuteActivity[int](ctx, opts, "Double", r1+1).Get(ctx)
	}
}

// TestConcurrentWorkersOneCommitWins: two workers (executor cache off)
// run the same workflow task of the same instance at once, and exactly one
// commit wins.
//
// The queue's ack wait is 300 ms. The first worker to process the first
// activity's result is held inside the workflow code (a blocking step),
// so the message is redelivered to the other worker, which processes it
// too and commits. Then the first is let go: its commit, made on the
// history it read before, must be refused by the sequence check. The test
// watches the history subjects with a core subscription, so it sees every
// commit attempt, stored or refused, and checks:
//
//   - both workers ran the task (the hook was reached by each);
//   - two commits carrying that ActivityCompleted were attempted (a commit
//     sent again after an unanswered try is one attempt), one is stored,
//     the other was refused; both expected the same last sequence
//     (both workers read the same history), so the sequence check is what
//     refused the loser;
//   - the stored history is whole (IDs without gap or repeat, every inbound
//     event once, every commit sequence-checked) and the result is right.
func TestConcurrentWorkersOneCommitWins(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	const ackWait = 300 * time.Millisecond
	srv, e := newLocalEnv(t, "race", ackWait)
	nc, ns := e.nc, e.ns

	// Every commit attempt, as sent.
	var (
		wireMu sync.Mutex
		wire   []attempt
	)
	sub, err := nc.Subscribe("wfh."+ns+".>", func(m *nats.Msg) {
		c, err := history.DecodeCommit(m.Data)
		if err != nil {
			t.Errorf("undecodable commit on %s: %v", m.Subject, err)
			return
		}
		exp, _ := strconv.ParseUint(m.Header.Get(jetstream.ExpectedLastSubjSeqHeader), 10, 64)
		wireMu.Lock()
		wire = append(wire, attempt{subject: m.Subject, expected: exp, commit: c})
		wireMu.Unlock()
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, nc.Flush())

	hook := newHoldHook()
	for _, name := range []string{"A", "B"} {
		startInProcWorker(t, srv.ClientURL(), ns, ackWait, worker.Options{
			DisableExecutorCache: true,
			PollWait:             100 * time.Millisecond,
			TaskRetryDelay:       20 * time.Millisecond,
			BlockedTimeout:       -1, // the held task may wait as long as the test needs
		}, func(w *worker.Worker) error {
			if err := w.RegisterWorkflow(racer(name, hook), worker.WithName("Racer")); err != nil {
				return err
			}
			return w.RegisterActivity(func(_ context.Context, x int) (int, error) { return 2 * x, nil }, worker.WithName("Double"))
		})
	}

	const instances = 3
	for i := range instances {
		id := fmt.Sprintf("race-%d", i)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, "Racer", i)
		require.NoError(t, err)
		first := waitHook(t, hook, id, 1)
		second := waitHook(t, hook, id, 2)
		require.NotEqual(t, first.worker, second.worker, "the redelivered task went to the other worker")
		// The second worker commits the result while the first still
		// holds its task.
		eventually(t, 30*time.Second, "the second worker's commit", func() bool {
			h, err := e.b.ReadHistory(ctx, id, inst.ExecutionID)
			return err == nil && len(h.Commits) >= 2
		})
		close(hook.releaseOf(id))
		res, err := client.GetWorkflowResult[int](ctx, e.c, inst, 30*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2*(2*i+1), res)

		commits, err := readCommits(ctx, e.b.JetStream(), ns)
		require.NoError(t, err)
		var stored []storedCommit
		for _, c := range commits {
			if c.Subject == historySubject(ns, id, inst.ExecutionID) {
				stored = append(stored, c)
			}
		}
		checkRaceHistory(t, id, stored)

		// The first activity's result: which commits carried it.
		answer := ""
		for _, c := range stored {
			for _, ev := range c.Commit.Events {
				if ev.Kind == history.ActivityCompleted && ev.ScheduleID == 2 {
					answer = ev.InboxID
				}
			}
		}
		require.NotEmpty(t, answer)
		storedIDs := map[string]uint64{}
		for _, c := range stored {
			storedIDs[c.Commit.ID] = c.Seq
		}
		wireMu.Lock()
		var carried, refused []attempt
		var winner *storedCommit
		for i, c := range stored {
			if (attempt{commit: c.Commit}).carries(answer) {
				winner = &stored[i]
			}
		}
		counted := map[string]bool{}
		for _, a := range wire {
			if a.subject != historySubject(ns, id, inst.ExecutionID) || !a.carries(answer) || counted[a.commit.ID] {
				continue // a resend of a commit (after an unanswered try) is the same attempt
			}
			counted[a.commit.ID] = true
			carried = append(carried, a)
			if _, ok := storedIDs[a.commit.ID]; !ok {
				refused = append(refused, a)
			}
		}
		wireMu.Unlock()
		assert.Len(t, carried, 2, "%s: commits carrying %s attempted (one per worker)", id, answer)
		assert.Len(t, refused, 1, "%s: commits carrying %s refused", id, answer)
		for _, a := range refused {
			assert.Equal(t, winner.Expected, a.expected, "%s: the refused commit expected the same last sequence as the stored one", id)
			t.Logf("%s: worker %s held, worker %s committed; the held worker's commit (expected last sequence %d) was refused",
				id, first.worker, second.worker, a.expected)
		}
	}
}

// attempt is one commit as sent on the wire.
type attempt struct {
	subject  string
	expected uint64
	commit   *history.Commit
}

func (a attempt) carries(inboxID string) bool {
	return slices.ContainsFunc(a.commit.Events, func(ev history.Event) bool { return ev.InboxID == inboxID })
}

func waitHook(t *testing.T, h *holdHook, inst string, n int) hookCall {
	t.Helper()
	h.mu.Lock()
	calls := h.calls[inst]
	h.mu.Unlock()
	if len(calls) >= n {
		return hookCall{worker: calls[n-1], instance: inst, n: n}
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case c := <-h.reached:
			if c.instance == inst && c.n == n {
				return c
			}
		case <-deadline:
			t.Fatalf("%s: the workflow task did not reach the hook a %s time", inst, ordinal(n))
		}
	}
}

func ordinal(n int) string {
	if n == 1 {
		return "first"
	}
	return "second"
}

// checkRaceHistory checks a stored history: sequence-checked commits, IDs
// without gap or repeat, each inbound event once, one final event.
func checkRaceHistory(t *testing.T, id string, stored []storedCommit) {
	t.Helper()
	var prev uint64
	next := int64(1)
	seen := map[string]bool{}
	finals := 0
	for i, c := range stored {
		assert.True(t, c.HasExpected && c.Expected == prev, "%s: commit %d expected %d (checked %v), predecessor %d", id, i+1, c.Expected, c.HasExpected, prev)
		prev = c.Seq
		for _, ev := range c.Commit.Events {
			assert.Equal(t, next, ev.ID, "%s: event IDs", id)
			next = ev.ID + 1
			if ev.Kind.Inbound() {
				assert.False(t, seen[ev.InboxID], "%s: %s twice in the history", id, ev.InboxID)
				seen[ev.InboxID] = true
			}
			if ev.Kind.Final() {
				finals++
			}
		}
	}
	assert.Equal(t, 1, finals, "%s: final events", id)
}
