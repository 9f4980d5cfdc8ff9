package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

func Tick(ctx workflow.Context, tag string) (string, error) { return tag, nil }

// LongTick runs until canceled or a minute has passed.
func LongTick(ctx workflow.Context, tag string) (string, error) {
	err := workflow.Sleep(ctx, time.Minute)
	return tag, err
}

func scheduleEnv(t *testing.T) *wftest.Env {
	return wftest.New(t, wftest.Options{Server: schedServer(t), Prefix: "sched", Register: func(w *worker.Worker) {
		require.NoError(t, w.RegisterWorkflow(Tick))
		require.NoError(t, w.RegisterWorkflow(LongTick))
	}})
}

func schedServer(t *testing.T) *embedded.Server { return testenv.Server(t) }

func started(d *client.ScheduleDescription) []client.ScheduleFire {
	var out []client.ScheduleFire
	for _, f := range d.RecentFires {
		if f.Outcome == "started" {
			out = append(out, f)
		}
	}
	return out
}

func TestScheduleFiresOnTime(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "tick", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
	}))
	err := c.CreateSchedule(ctx, client.ScheduleOptions{ScheduleID: "tick", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"}})
	require.ErrorIs(t, err, client.ErrScheduleAlreadyExists)

	var d *client.ScheduleDescription
	testenv.WaitFor(t, 20*time.Second, "three fires", func() bool {
		d, err = c.DescribeSchedule(ctx, "tick")
		require.NoError(t, err)
		return len(started(d)) >= 3
	})
	for _, f := range started(d) {
		require.Equal(t, client.ScheduleInstanceID("tick", f.FireTime), f.InstanceID)
		require.Equal(t, f.FireTime.Truncate(time.Second), f.FireTime, "nominal fires are whole seconds")
		late := f.HandledAt.Sub(f.FireTime)
		t.Logf("fire %s started %s late", f.FireTime.Format(time.RFC3339), late)
		require.Less(t, late, 5*time.Second, "generous bound on a busy machine")
		res, err := client.GetWorkflowResult[string](ctx, c, &workflow.Instance{InstanceID: f.InstanceID}, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, "x", res)
	}
	require.NotEmpty(t, d.NextFires)
	require.False(t, d.Paused)

	require.NoError(t, c.DeleteSchedule(ctx, "tick"))
	_, err = c.DescribeSchedule(ctx, "tick")
	require.ErrorIs(t, err, client.ErrScheduleNotFound)
	require.ErrorIs(t, c.PauseSchedule(ctx, "tick", ""), client.ErrScheduleNotFound)
}

func TestSchedulePauseUnpauseTrigger(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "p", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
	}))
	// A witness of the same spec, not paused: its fires are the ones "p"
	// would have had.
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "witness", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
	}))
	testenv.WaitFor(t, 20*time.Second, "a fire", func() bool {
		d, err := c.DescribeSchedule(ctx, "p")
		require.NoError(t, err)
		return len(started(d)) >= 1
	})
	require.NoError(t, c.PauseSchedule(ctx, "p", "maintenance"))
	pausedAt := time.Now()
	d, err := c.DescribeSchedule(ctx, "p")
	require.NoError(t, err)
	require.True(t, d.Paused)
	require.Equal(t, "maintenance", d.Note)
	require.Empty(t, d.NextFires)
	_, armed, err := env.Backend.ArmedFire(ctx, "p")
	require.NoError(t, err)
	require.False(t, armed, "pausing disarms")
	// A fire handled while pausing either was recorded before the pause
	// or finds the schedule paused (the record is revision-checked): from
	// here on the counters must not move.
	before := d.Fires
	// Proof that fires were due meanwhile: the witness handled two fires
	// whose times are after the pause, each of which "p" would have had.
	testenv.WaitFor(t, 20*time.Second, "two witness fires after the pause", func() bool {
		w, err := c.DescribeSchedule(ctx, "witness")
		require.NoError(t, err)
		n := 0
		for _, f := range started(w) {
			if f.FireTime.After(pausedAt) {
				n++
			}
		}
		return n >= 2
	})
	d, err = c.DescribeSchedule(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, before, d.Fires, "fires while paused")
	require.Zero(t, d.Skipped+d.Missed)
	require.True(t, d.Paused)

	// A trigger fires a paused schedule once.
	require.NoError(t, c.TriggerSchedule(ctx, "p"))
	testenv.WaitFor(t, 10*time.Second, "the trigger", func() bool {
		d, err = c.DescribeSchedule(ctx, "p")
		require.NoError(t, err)
		n := len(d.RecentFires)
		return n > 0 && d.RecentFires[n-1].Kind == "trigger" && d.RecentFires[n-1].Outcome == "started"
	})

	require.NoError(t, c.UnpauseSchedule(ctx, "p", ""))
	testenv.WaitFor(t, 20*time.Second, "fires after unpause", func() bool {
		d2, err := c.DescribeSchedule(ctx, "p")
		require.NoError(t, err)
		return !d2.Paused && d2.Fires >= d.Fires+2
	})
}

// TestScheduleReconcile: a crash between writing the record and arming
// leaves a record with no message schedule; a describe arms it.
func TestScheduleReconcile(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "r", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
	}))
	require.NoError(t, env.StopWorker())
	// The crash: the message schedule is gone, the record says armed.
	require.NoError(t, env.Backend.DisarmSchedule(ctx, "r"))
	_, ok, err := env.Backend.ArmedFire(ctx, "r")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = c.DescribeSchedule(ctx, "r")
	require.NoError(t, err)
	_, ok, err = env.Backend.ArmedFire(ctx, "r")
	require.NoError(t, err)
	require.True(t, ok, "describe re-armed the schedule")

	// And a paused record whose message schedule survived (crash after
	// the record, before the disarm) is disarmed.
	rec, err := env.Backend.GetSchedule(ctx, "r")
	require.NoError(t, err)
	rec.Paused, rec.NextFire = true, time.Time{}
	require.NoError(t, env.Backend.UpdateSchedule(ctx, rec))
	_, err = c.DescribeSchedule(ctx, "r")
	require.NoError(t, err)
	_, ok, err = env.Backend.ArmedFire(ctx, "r")
	require.NoError(t, err)
	require.False(t, ok, "describe disarmed the paused schedule")
}

// TestScheduleCatchup: fires while no worker ran start when a worker
// comes back within the catch-up window, and are counted missed past it.
func TestScheduleCatchup(t *testing.T) {
	srv := schedServer(t)
	b := testenv.Namespace(t, srv, "sched")
	c := client.New(b)
	ctx := testenv.Context(t, time.Minute)
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "in", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
		Overlap: client.OverlapAllowAll, CatchupWindow: time.Minute,
	}))
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "out", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"},
		Overlap: client.OverlapAllowAll, CatchupWindow: time.Second,
	}))
	time.Sleep(4 * time.Second) // the outage: no worker runs
	wftest.Worker(t, b, nil, func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(Tick)) })
	testenv.WaitFor(t, 20*time.Second, "catch-up", func() bool {
		in, err := c.DescribeSchedule(ctx, "in")
		require.NoError(t, err)
		out, err := c.DescribeSchedule(ctx, "out")
		require.NoError(t, err)
		return in.Fires >= 4 && out.Missed >= 2
	})
	in, err := c.DescribeSchedule(ctx, "in")
	require.NoError(t, err)
	require.Zero(t, in.Missed)
	// The caught-up fires are consecutive seconds: none lost.
	fires := started(in)
	for i := 1; i < len(fires); i++ {
		require.Equal(t, time.Second, fires[i].FireTime.Sub(fires[i-1].FireTime))
	}
}

func TestScheduleOverlapPolicies(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, 2*time.Minute)
	c := env.Client
	for _, p := range []client.OverlapPolicy{client.OverlapSkip, client.OverlapBufferOne, client.OverlapAllowAll, client.OverlapCancelOther, client.OverlapTerminateOther} {
		require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
			ScheduleID: p.String(), Spec: client.ScheduleSpec{Every: time.Second}, Workflow: LongTick, Args: []any{"x"}, Overlap: p,
		}))
	}
	describe := func(p client.OverlapPolicy) *client.ScheduleDescription {
		d, err := c.DescribeSchedule(ctx, p.String())
		require.NoError(t, err)
		return d
	}
	count := func(d *client.ScheduleDescription, outcome string) int {
		n := 0
		for _, f := range d.RecentFires {
			if f.Outcome == outcome {
				n++
			}
		}
		return n
	}
	testenv.WaitFor(t, 30*time.Second, "several fires of each", func() bool {
		for _, p := range []client.OverlapPolicy{client.OverlapSkip, client.OverlapAllowAll, client.OverlapCancelOther, client.OverlapTerminateOther} {
			if len(describe(p).RecentFires) < 3 {
				return false
			}
		}
		return count(describe(client.OverlapBufferOne), "skipped") >= 1
	})

	skip := describe(client.OverlapSkip)
	require.Len(t, started(skip), 1, "skip starts one while it runs")
	require.GreaterOrEqual(t, count(skip, "skipped"), 2)

	buf := describe(client.OverlapBufferOne)
	require.Len(t, started(buf), 1)
	require.Equal(t, 1, count(buf, "buffered"))

	all := describe(client.OverlapAllowAll)
	require.GreaterOrEqual(t, len(started(all)), 3)
	for _, f := range started(all) {
		require.Equal(t, streams.StatusRunning, f.Status)
	}

	for p, end := range map[client.OverlapPolicy]streams.Status{client.OverlapCancelOther: streams.StatusCanceled, client.OverlapTerminateOther: streams.StatusTerminated} {
		var d *client.ScheduleDescription
		testenv.WaitFor(t, 20*time.Second, p.String()+" ends the earlier instances", func() bool {
			d = describe(p)
			s := started(d)
			if len(s) < 3 {
				return false
			}
			for _, f := range s[:len(s)-1] {
				if f.Status != end {
					return false
				}
			}
			return true
		})
		s := started(d)
		require.Equal(t, streams.StatusRunning, s[len(s)-1].Status)
	}

	// The buffered fire starts when the running one ends.
	first := started(buf)[0].InstanceID
	require.NoError(t, c.TerminateWorkflowInstance(ctx, &workflow.Instance{InstanceID: first}, "test"))
	testenv.WaitFor(t, 20*time.Second, "the buffered fire starts", func() bool {
		d := describe(client.OverlapBufferOne)
		for _, f := range d.RecentFires {
			if f.Kind == "buffered" && f.Outcome == "started" {
				return true
			}
		}
		return false
	})
}

func TestScheduleBadInput(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	for name, o := range map[string]client.ScheduleOptions{
		"no spec":     {ScheduleID: "a", Workflow: Tick, Args: []any{"x"}},
		"both":        {ScheduleID: "a", Spec: client.ScheduleSpec{Cron: "* * * * *", Every: time.Second}, Workflow: Tick, Args: []any{"x"}},
		"short every": {ScheduleID: "a", Spec: client.ScheduleSpec{Every: time.Millisecond}, Workflow: Tick, Args: []any{"x"}},
		"bad cron":    {ScheduleID: "a", Spec: client.ScheduleSpec{Cron: "61 * * * *"}, Workflow: Tick, Args: []any{"x"}},
		"bad zone":    {ScheduleID: "a", Spec: client.ScheduleSpec{Cron: "* * * * *", TimeZone: "Mars/Olympus"}, Workflow: Tick, Args: []any{"x"}},
		"never":       {ScheduleID: "a", Spec: client.ScheduleSpec{Cron: "0 0 30 2 *"}, Workflow: Tick, Args: []any{"x"}},
		"bad args":    {ScheduleID: "a", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{1}},
		"empty id":    {Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"}},
	} {
		err := c.CreateSchedule(ctx, o)
		require.Error(t, err, name)
		require.False(t, errors.Is(err, client.ErrScheduleAlreadyExists), name)
	}
	list, err := c.ListSchedules(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
}

// TestScheduleOneInstancePerFire: two workers take the fires of one
// schedule; each fire starts one instance with one run.
func TestScheduleOneInstancePerFire(t *testing.T) {
	env := scheduleEnv(t)
	wftest.Worker(t, env.Backend, nil, func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(Tick)) })
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "two", Spec: client.ScheduleSpec{Every: time.Second}, Workflow: Tick, Args: []any{"x"}, Overlap: client.OverlapAllowAll,
	}))
	var d *client.ScheduleDescription
	testenv.WaitFor(t, 30*time.Second, "five fires", func() bool {
		var err error
		d, err = c.DescribeSchedule(ctx, "two")
		require.NoError(t, err)
		return len(started(d)) >= 5
	})
	seen := map[time.Time]bool{}
	for _, f := range started(d) {
		require.False(t, seen[f.FireTime], "fire %s recorded twice", f.FireTime)
		seen[f.FireTime] = true
		rec, err := env.Backend.GetInstance(ctx, f.InstanceID)
		require.NoError(t, err)
		require.Equal(t, 1, rec.RunCount(), "instance %s has more than one run", f.InstanceID)
	}
	require.Zero(t, d.Missed)
}

// TestScheduleFireRedelivered: a worker that started a fire's instance
// and died before recording the fire leaves the fire to be delivered
// again (and perhaps again, to a second worker): the instance, already
// finished, is recorded, and nothing starts a second run.
func TestScheduleFireRedelivered(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "d", Spec: client.ScheduleSpec{Every: time.Hour}, Workflow: Tick, Args: []any{"x"}, Overlap: client.OverlapAllowAll,
	}))
	rec, err := env.Backend.GetSchedule(ctx, "d")
	require.NoError(t, err)
	fire := rec.NextFire
	id := client.ScheduleInstanceID("d", fire)
	// What the dead worker did: the start, and the run ran to its end.
	inst, err := c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{InstanceID: id}, Tick, "x")
	require.NoError(t, err)
	_, err = client.GetWorkflowResult[string](ctx, c, inst, 10*time.Second)
	require.NoError(t, err)

	msg := streams.ScheduleFireMessage{ScheduleID: "d", FireTime: fire, Kind: "scheduled"}
	for range 2 { // the redelivery, and a duplicate of it
		retry, err := c.HandleScheduleFire(ctx, msg)
		require.NoError(t, err)
		require.Zero(t, retry)
	}
	d, err := c.DescribeSchedule(ctx, "d")
	require.NoError(t, err)
	require.EqualValues(t, 1, d.Fires)
	require.Len(t, d.RecentFires, 1)
	require.Equal(t, id, d.RecentFires[0].InstanceID)
	require.Equal(t, streams.StatusCompleted, d.RecentFires[0].Status)
	require.Equal(t, []time.Time{fire.Add(time.Hour)}, d.NextFires[:1])
	irec, err := env.Backend.GetInstance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 1, irec.RunCount())
	armed, ok, err := env.Backend.ArmedFire(ctx, "d")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, armed.Equal(fire.Add(time.Hour)))
}

// TestScheduleBackfill: a backfill starts the fires of a past range,
// however old (the catch-up window is for fires no worker took in time,
// not for a backfill); a backfilled fire handled again (a backfill of the
// same range after the publish's duplicate window) starts nothing new.
func TestScheduleBackfill(t *testing.T) {
	env := scheduleEnv(t)
	ctx := testenv.Context(t, time.Minute)
	c := env.Client
	require.NoError(t, c.CreateSchedule(ctx, client.ScheduleOptions{
		ScheduleID: "bf", Spec: client.ScheduleSpec{Every: time.Hour}, Workflow: Tick, Args: []any{"x"},
		Overlap: client.OverlapAllowAll,
	}))
	end := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	start := end.Add(-3 * time.Hour) // three fires, all older than the 1 h catch-up window
	n, err := c.BackfillSchedule(ctx, "bf", client.ScheduleBackfill{Start: start, End: end, Overlap: client.OverlapAllowAll})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	var d *client.ScheduleDescription
	testenv.WaitFor(t, 20*time.Second, "the backfill's fires", func() bool {
		d, err = c.DescribeSchedule(ctx, "bf")
		require.NoError(t, err)
		return len(d.RecentFires) >= 3
	})
	require.Zero(t, d.Missed, "backfilled fires counted missed")
	for _, f := range d.RecentFires {
		require.Equal(t, "backfill", f.Kind)
		require.Equal(t, "started", f.Outcome, "fire %s: %s", f.FireTime, f.Reason)
		require.Equal(t, client.ScheduleInstanceID("bf", f.FireTime), f.InstanceID)
		require.False(t, f.FireTime.Before(start) || !f.FireTime.Before(end), "fire %s outside the range", f.FireTime)
	}
	for k := range 3 {
		fire := start.Add(time.Duration(k) * time.Hour)
		id := client.ScheduleInstanceID("bf", fire)
		res, err := client.GetWorkflowResult[string](ctx, c, &workflow.Instance{InstanceID: id}, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, "x", res)
		// The same fire again, its instance finished: nothing starts.
		retry, err := c.HandleScheduleFire(ctx, streams.ScheduleFireMessage{ScheduleID: "bf", FireTime: fire, Kind: "backfill", Overlap: "allow_all"})
		require.NoError(t, err)
		require.Zero(t, retry)
		rec, err := env.Backend.GetInstance(ctx, id)
		require.NoError(t, err)
		require.Equal(t, 1, rec.RunCount(), "backfilling %s again started it again", id)
	}
}
