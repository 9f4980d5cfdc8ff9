package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWorkerProcessesKilled: worker processes are SIGKILLed at random
// moments and started again while many workflows run their activities,
// timers and signals (sent concurrently with the kills). Every workflow
// completes with the right result; no activity result, timer or signal is
// applied twice or lost (see env.audit).
func TestWorkerProcessesKilled(t *testing.T) {
	rng := testRand(t)
	var (
		nFlows   = scale(150, 1000)
		nSignals = scale(3, 5)
		period   = scale(12*time.Second, 120*time.Second) // the workload and the kills
		nWorkers = 3
		ackWait  = 2 * time.Second
	)
	ctx := testContext(t, scale(3*time.Minute, 20*time.Minute))
	_, e := newLocalEnv(t, "kill", ackWait)

	ps := newProcSet(t, e.cfg)
	workers := make([]*proc, nWorkers)
	start := func(i int) *proc {
		name := fmt.Sprintf("w%d", i)
		if i == nWorkers-1 {
			return ps.start(name, noCache) // one worker replays every task
		}
		return ps.start(name)
	}
	for i := range workers {
		workers[i] = start(i)
	}

	flows := newFlows(rng, nFlows, nSignals)
	began := time.Now()
	sent := e.drive(ctx, rng, flows, period, e.signalByClient)

	kills := 0
	var downFor time.Duration
	for time.Since(began) < period {
		time.Sleep(time.Duration(150+rng.IntN(450)) * time.Millisecond)
		i := rng.IntN(nWorkers)
		workers[i].kill()
		kills++
		// Mostly straight back; sometimes the worker stays away a while,
		// so the others must take over its unacknowledged work.
		if rng.IntN(4) == 0 {
			d := time.Duration(rng.IntN(1500)) * time.Millisecond
			downFor += d
			time.Sleep(d)
		}
		workers[i] = start(i)
	}
	killing := time.Since(began)
	require.NoError(t, <-sent)
	took := e.waitFinished(ctx, flows, scale(2*time.Minute, 10*time.Minute))
	rep := e.audit(ctx, flows)
	t.Logf("%d SIGKILLs of %d worker processes over %s (workers kept down %s in all); all workflows finished %s after the last signal",
		kills, nWorkers, killing.Round(time.Millisecond), downFor.Round(time.Millisecond), took.Round(time.Millisecond))
	t.Logf("audit: %s", rep)
}
