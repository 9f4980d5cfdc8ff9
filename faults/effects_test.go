package faults

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
)

// TestLostSideEffectPublish: a worker process commits, and dies before the
// commit's side effect reaches JetStream. The work still happens: the
// inbox message behind the commit is redelivered to another worker, which
// finds its event committed and publishes the commit's effects again.
//
// The fault is made from outside the worker: it connects through a proxy
// that reads the NATS protocol it sends, drops the first publish of the
// kind under test that follows a commit (and everything after it, acks
// included), and the test then SIGKILLs the process. Before the rescuer
// starts, the test checks that the effect really is missing from
// JetStream. Three kinds of effect are lost this way, one per subtest:
// the activity tasks of the first commit, the timer schedule, and the
// registry update of the final commit.
func TestLostSideEffectPublish(t *testing.T) {
	srv := testenv.Server(t, testenv.Loopback())
	nc := testenv.Conn(t, srv)

	cases := []struct {
		name   string
		prefix func(ns string) string
		// lost checks, with the trapped worker dead, that the effect is
		// not in JetStream and that its commit is.
		lost func(t *testing.T, ctx context.Context, e *env, f *flowRun)
	}{
		{
			name:   "activity tasks",
			prefix: func(ns string) string { return "wfa." + ns + "." },
			lost: func(t *testing.T, ctx context.Context, e *env, f *flowRun) {
				s, err := e.b.JetStream().Stream(ctx, "WF_"+e.ns+"_ACTIVITIES")
				require.NoError(t, err)
				info, err := s.Info(ctx)
				require.NoError(t, err)
				assert.Zero(t, info.State.Msgs, "activity tasks in the stream")
				assert.Equal(t, 2, countEvents(t, ctx, e, f, history.ActivityScheduled), "activities scheduled in the history")
			},
		},
		{
			name:   "timer schedule",
			prefix: func(ns string) string { return "wft." + ns + ".s." },
			lost: func(t *testing.T, ctx context.Context, e *env, f *flowRun) {
				s, err := e.b.JetStream().Stream(ctx, "WF_"+e.ns+"_TASKS")
				require.NoError(t, err)
				info, err := s.Info(ctx, jetstream.WithSubjectFilter("wft."+e.ns+".s.>"))
				require.NoError(t, err)
				assert.Empty(t, info.State.Subjects, "timer schedules in the stream")
				assert.Equal(t, 1, countEvents(t, ctx, e, f, history.TimerScheduled), "timers scheduled in the history")
			},
		},
		{
			name:   "final registry update",
			prefix: func(ns string) string { return "$KV.wf_" + ns + "_instances." },
			lost: func(t *testing.T, ctx context.Context, e *env, f *flowRun) {
				r, err := e.b.GetInstance(ctx, f.ID)
				require.NoError(t, err)
				assert.Equal(t, streams.StatusRunning, r.Status, "registry status")
				assert.Equal(t, 1, countEvents(t, ctx, e, f, history.WorkflowCompleted), "completion in the history")
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := testRand(t)
			ctx := testContext(t, 2*time.Minute)
			const ackWait = 2 * time.Second
			ns := newNamespace("lost")
			proxy := newNATSProxy(t, srv.ClientURL())
			e := newEnv(t, nc, proxy.URL(), ns, ackWait, 1)
			fired := proxy.setTrap(tc.prefix(ns))
			trapped := newProcSet(t, e.cfg)
			w := trapped.start("trapped")

			f := e.startFlows(ctx, rng, 1, 2)[0]
			for k := 1; k <= f.In.Signals; k++ { // all up front: the run never waits for them
				require.NoError(t, e.signalByClient(ctx, signalSend{flow: f, k: k}))
			}
			var rep trapReport
			select {
			case rep = <-fired:
			case <-time.After(60 * time.Second):
				t.Fatalf("the trap for %s never fired", tc.prefix(ns))
			}
			w.kill()
			t.Logf("trap: %s; worker process SIGKILLed", rep)
			require.Equal(t, historySubject(ns, f.ID, f.Run), rep.LastCommit)
			tc.lost(t, ctx, e, f)

			rescueCfg := e.cfg
			rescueCfg.url = srv.ClientURL()
			newProcSet(t, rescueCfg).start("rescuer")
			took := e.waitFinished(ctx, []*flowRun{f}, 60*time.Second)
			t.Logf("recovered: the run completed %s after the rescuer started (ack wait %s)", took.Round(time.Millisecond), ackWait)
			t.Logf("audit: %s", e.audit(ctx, []*flowRun{f}))
		})
	}
}

// countEvents counts the events of a kind in a flow's history.
func countEvents(t *testing.T, ctx context.Context, e *env, f *flowRun, kind history.Kind) int {
	t.Helper()
	h, err := e.b.ReadHistory(ctx, f.ID, f.Run)
	require.NoError(t, err)
	n := 0
	for _, ev := range h.Events() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}
