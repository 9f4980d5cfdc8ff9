package faults

import (
	"strings"
	"testing"
	"time"

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

	// The schedule catches up with one worker: wait until its record has
	// a fire after the last kill, then audit every fire up to the last
	// the record holds.
	var rec *streams.ScheduleRecord
	require.Eventually(t, func() bool {
		r, err := e.b.GetSchedule(ctx, id)
		if err != nil {
			return false
		}
		rec = r
		return r.LastFire.After(stopped.Add(2 * time.Second))
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
