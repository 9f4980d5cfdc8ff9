package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/crashpoint"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// TestScheduleFiresWorkerKilled: a schedule fires every second into two
// worker processes. One of them SIGKILLs itself at an exact step of a
// fire's handling — after the fire's instance is registered and before
// its start is published; after the start is stored and before the fire
// is recorded; after the fire is recorded and before the next one is
// armed and the fire acknowledged — and is started again with the next
// point, round and round; the other is SIGKILLed from outside at random
// moments. Then the audit, over every fire from the schedule's first to
// the last one its record holds: each fire's instance <id>-<time> exists,
// has exactly one run whose history starts once and completes, the record
// counts each fire once, and none is missed.
func TestScheduleFiresWorkerKilled(t *testing.T) {
	rng := testRand(t)
	var (
		period  = scale(15*time.Second, 2*time.Minute)
		ackWait = time.Second
		points  = []string{crashpoint.ScheduleRegistered, crashpoint.ScheduleStarted, crashpoint.ScheduleRecorded}
	)
	ctx := testContext(t, scale(3*time.Minute, 15*time.Minute))
	_, e := newLocalEnv(t, "schedkill", ackWait)
	ps := newProcSet(t, e.cfg)
	// The crasher serves a queue of its own, so it takes schedule fires
	// but not the runs they start: those run on the steady worker at
	// once, and are finished before a fire the crasher left comes again,
	// which makes the check that a fire's instance exists the only thing
	// between a redelivered fire and a second run of its instance.
	steady := ps.start("steady")
	crasherQueue := onQueue("fires-only")
	crasher := ps.start("crasher", crashAt(points[0]), crasherQueue)

	const id = "tick"
	require.NoError(t, e.c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: id, Spec: client.ScheduleSpec{Every: time.Second}, Workflow: ScheduleTick,
		Overlap: client.OverlapAllowAll, // every fire starts, so every fire has an instance to audit
	}))
	began := time.Now()
	crashes := map[string]int{}
	kills := 0
	crashedEverywhere := func() bool {
		for _, p := range points {
			if crashes[p] == 0 {
				return false
			}
		}
		return true
	}
	// Until the period is over and the crasher has died at every point
	// (which fire goes to which worker is the server's choice).
	for k := 0; time.Since(began) < period || (!crashedEverywhere() && time.Since(began) < 4*period); {
		select {
		case <-crasher.exited:
			crashes[points[k%len(points)]]++
			require.Contains(t, crasher.out.String(), "crash point "+points[k%len(points)]+" reached",
				"the crasher died, but not at its crash point")
			k++
			crasher = ps.start("crasher", crashAt(points[k%len(points)]), crasherQueue)
		case <-time.After(time.Duration(500+rng.IntN(1500)) * time.Millisecond):
			if rng.IntN(4) == 0 {
				steady.kill()
				kills++
				steady = ps.start("steady")
			}
		}
	}
	crasher.kill()
	stopped := time.Now()
	t.Logf("over %s: the crasher killed itself %v; the other worker was SIGKILLed %d times", period, crashes, kills)
	for _, p := range points {
		require.NotZero(t, crashes[p], "no crash at %s: the test did not test it", p)
	}

	// The schedule catches up with one worker; then audit.
	auditSchedule(ctx, t, e, id, stopped)
}

// auditSchedule waits until schedule id (Every: time.Second, allow-all)
// has recorded a fire two seconds after since, and then checks every fire
// from its first to the last recorded: each started exactly one instance
// with one run, whose history starts once and which completed; the record
// counts each fire once; none was missed or skipped.
func auditSchedule(ctx context.Context, t *testing.T, e *env, id string, since time.Time) {
	t.Helper()
	var rec *streams.ScheduleRecord
	require.Eventually(t, func() bool {
		r, err := e.b.GetSchedule(ctx, id)
		if err != nil {
			return false
		}
		rec = r
		return r.LastFire.After(since.Add(2 * time.Second))
	}, time.Minute, 100*time.Millisecond, "the schedule did not catch up after the kills")

	first := rec.CreatedAt.Truncate(time.Second).Add(time.Second)
	var fires []time.Time
	for f := first; !f.After(rec.LastFire); f = f.Add(time.Second) {
		fires = append(fires, f)
	}
	require.Zero(t, rec.Missed, "fires recorded missed")
	require.Zero(t, rec.Skipped, "fires recorded skipped")
	require.EqualValues(t, len(fires), rec.Fires,
		"the record counts %d fires from %s to %s; there were %d", rec.Fires, first.Format(time.RFC3339), rec.LastFire.Format(time.RFC3339), len(fires))
	seen := map[time.Time]bool{}
	for _, f := range rec.RecentFires {
		require.False(t, seen[f.FireTime], "fire %s is in the record twice", f.FireTime)
		seen[f.FireTime] = true
		require.Equal(t, "started", f.Outcome, "fire %s", f.FireTime)
		require.Equal(t, client.ScheduleInstanceID(id, f.FireTime), f.InstanceID)
	}

	// Each fire's instance: one run, started once, completed.
	var lateness time.Duration
	for _, f := range fires {
		inst := client.ScheduleInstanceID(id, f)
		ir, err := e.b.GetInstance(ctx, inst)
		require.NoError(t, err, "fire %s has no instance", f.Format(time.RFC3339))
		require.Equal(t, 1, ir.RunCount(), "instance %s has %d runs", inst, ir.RunCount())
		res, err := client.GetWorkflowResult[string](ctx, e.c, &workflow.Instance{InstanceID: inst}, 20*time.Second)
		require.NoError(t, err, "instance %s (status %s) did not complete: registered but its start lost?", inst, ir.Status)
		require.Equal(t, inst, res)
		lateness = max(lateness, ir.CreatedAt.Sub(f)) // registered
	}
	// And the history stream: every run of the schedule's instances
	// starts once; no instance has a second run.
	commits, err := readCommits(ctx, e.b.JetStream(), e.ns)
	require.NoError(t, err)
	runs := map[string]string{} // instance token → run
	starts := map[string]int{}
	prefix := "wfh." + e.ns + "."
	for _, c := range commits {
		rest, ok := strings.CutPrefix(c.Subject, prefix)
		require.True(t, ok, c.Subject)
		dot := strings.LastIndexByte(rest, '.')
		tok, run := rest[:dot], rest[dot+1:]
		if prev, ok := runs[tok]; ok && prev != run {
			t.Errorf("instance %s has two runs in the history stream: %s and %s", tok, prev, run)
		}
		runs[tok] = run
		for _, ev := range c.Commit.Events {
			if ev.Kind == history.WorkflowStarted {
				starts[tok]++
			}
		}
	}
	for _, f := range fires {
		tok, err := streams.EncodeInstanceID(client.ScheduleInstanceID(id, f))
		require.NoError(t, err)
		require.Equal(t, 1, starts[tok], "instance of fire %s: WorkflowStarted %d times", f.Format(time.RFC3339), starts[tok])
	}
	t.Logf("audit: %d fires from %s to %s, each started exactly one instance with one run; the latest was registered %s after its time",
		len(fires), first.Format(time.RFC3339), rec.LastFire.Format(time.RFC3339), lateness.Round(time.Millisecond))
}

// TestScheduleServerRestart: a worker process dies between recording a
// fire and arming the next (crash point schedule-recorded), so the record
// names a next fire that no message schedule will fire; the server is then
// restarted with no worker running. The disagreement survives the restart
// (both are on disk); a worker started after it puts them back in line
// (the unacknowledged fire comes again as a duplicate and arms the next;
// the worker's start reconciles), the fires of the outage are caught up,
// and the audit finds every fire started exactly once.
func TestScheduleServerRestart(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	ackWait := time.Second
	rs := startRestartable(t)
	nc, err := nats.Connect(rs.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	e := newEnv(t, nc, rs.url(), newNamespace("schedrestart"), ackWait, 1)
	ps := newProcSet(t, e.cfg)
	crasher := ps.start("crasher", crashAt(crashpoint.ScheduleRecorded))

	const id = "tick"
	require.NoError(t, e.c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: id, Spec: client.ScheduleSpec{Every: time.Second}, Workflow: ScheduleTick, Overlap: client.OverlapAllowAll,
	}))
	select {
	case <-crasher.exited:
	case <-ctx.Done():
		t.Fatal("the worker never reached its crash point")
	}
	require.Contains(t, crasher.out.String(), "crash point "+crashpoint.ScheduleRecorded+" reached")
	apart := func(when string) {
		t.Helper()
		rec, err := e.b.GetSchedule(ctx, id)
		require.NoError(t, err)
		require.True(t, rec.NextFire.After(rec.LastFire), "%s: the record names its next fire", when)
		_, armed, err := e.b.ArmedFire(ctx, id)
		require.NoError(t, err)
		require.False(t, armed, "%s: no message schedule is armed for the record's next fire", when)
	}
	apart("after the crash")
	rec, err := e.b.GetSchedule(ctx, id)
	require.NoError(t, err)

	// The server stays down until two more fires were due: they must be
	// caught up, not lost.
	rs.stop()
	for time.Now().Before(rec.NextFire.Add(1500 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	rs.start()
	restarted := time.Now()
	require.Eventually(t, func() bool {
		_, err := e.b.GetSchedule(ctx, id)
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the test's connection did not come back")
	apart("after the server restart")

	ps.start("steady")
	require.Eventually(t, func() bool {
		rec, err := e.b.GetSchedule(ctx, id)
		if err != nil {
			return false
		}
		armed, ok, err := e.b.ArmedFire(ctx, id)
		return err == nil && ok && armed.Equal(rec.NextFire) && rec.LastFire.After(restarted)
	}, time.Minute, 50*time.Millisecond, "the record and the message schedule did not agree again")
	auditSchedule(ctx, t, e, id, restarted)
}
