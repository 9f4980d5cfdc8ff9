package e2e

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// progress records what heartbeating activities saw, per instance.
type progress struct {
	mu      sync.Mutex
	beats   map[string]int
	ctxErrs map[string][]error // the context error each attempt ended with
}

func newProgress() *progress {
	return &progress{beats: map[string]int{}, ctxErrs: map[string][]error{}}
}

func (p *progress) beat(inst string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beats[inst]++
}

func (p *progress) ended(inst string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctxErrs[inst] = append(p.ctxErrs[inst], err)
}

func (p *progress) get(inst string) (beats int, errs []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.beats[inst], append([]error(nil), p.ctxErrs[inst]...)
}

// Heartbeats is an activity that heartbeats until its context ends.
type Heartbeats struct{ p *progress }

// Work heartbeats every 20ms and never finishes on its own.
func (h *Heartbeats) Work(ctx context.Context) (string, error) {
	inst := activity.GetInfo(ctx).InstanceID
	for {
		activity.RecordHeartbeat(ctx, "working")
		h.p.beat(inst)
		select {
		case <-ctx.Done():
			h.p.ended(inst, ctx.Err())
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stall heartbeats once on its first attempt and then stops (stuck); the
// second attempt succeeds.
func (h *Heartbeats) Stall(ctx context.Context) (int, error) {
	inst := activity.GetInfo(ctx).InstanceID
	if activity.Attempt(ctx) > 1 {
		return activity.Attempt(ctx), nil
	}
	activity.RecordHeartbeat(ctx, "started")
	h.p.beat(inst)
	<-ctx.Done()
	h.p.ended(inst, ctx.Err())
	return 0, ctx.Err()
}

// CancelsWork starts Work, waits for the "stop" signal and cancels it;
// waiting or not for the activity to end.
func CancelsWork(ctx workflow.Context, wait bool) (string, error) {
	actx, cancel := workflow.WithCancel(ctx)
	opts := workflow.ActivityOptions{
		HeartbeatTimeout:    5 * time.Second,
		WaitForCancellation: wait,
		RetryOptions:        workflow.RetryOptions{MaxAttempts: 1},
	}
	var h *Heartbeats
	work := workflow.ExecuteActivity[string](actx, opts, h.Work)
	workflow.NewSignalChannel[string](ctx, "stop").Receive(ctx)
	cancel()
	_, err := work.Get(ctx)
	if !errors.Is(err, workflow.Canceled) {
		return "", errors.New("the activity did not end canceled")
	}
	return "stopped", nil
}

func TestHeartbeatingActivityCanceled(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		p := newProgress()
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(CancelsWork))
			must(t, w.RegisterActivity(&Heartbeats{p: p}))
		})
		for _, wait := range []bool{true, false} {
			ctx := ctxFor(t)
			inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, CancelsWork, wait)
			require.NoError(t, err)
			waitFor(t, 10*time.Second, "a few heartbeats", func() bool {
				n, _ := p.get(inst.InstanceID)
				return n >= 3
			})
			require.NoError(t, e.c.SignalWorkflow(ctx, inst.InstanceID, "stop", "now"))
			res, err := client.GetWorkflowResult[string](ctx, e.c, inst, 20*time.Second)
			require.NoError(t, err, "wait=%v", wait)
			assert.Equal(t, "stopped", res)
			waitFor(t, 10*time.Second, "the activity's context to end", func() bool {
				_, errs := p.get(inst.InstanceID)
				return len(errs) > 0
			})
			_, errs := p.get(inst.InstanceID)
			assert.Equal(t, []error{context.Canceled}, errs, "wait=%v: the one attempt saw its context canceled", wait)
		}
	})
}

// RetriesStall runs Stall with a short heartbeat timeout.
func RetriesStall(ctx workflow.Context) (int, error) {
	var h *Heartbeats
	return workflow.ExecuteActivity[int](ctx, workflow.ActivityOptions{
		HeartbeatTimeout: 300 * time.Millisecond,
		RetryOptions:     workflow.RetryOptions{MaxAttempts: 3, FirstRetryInterval: 10 * time.Millisecond},
	}, h.Stall).Get(ctx)
}

func TestActivityThatStopsHeartbeatingIsRetried(t *testing.T) {
	forEachCacheMode(t, func(t *testing.T, opts worker.Options) {
		p := newProgress()
		e := newEnv(t, opts, func(w *worker.Worker) {
			must(t, w.RegisterWorkflow(RetriesStall))
			must(t, w.RegisterActivity(&Heartbeats{p: p}))
		})
		ctx := ctxFor(t)
		inst, err := e.c.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, RetriesStall)
		require.NoError(t, err)
		attempt, err := client.GetWorkflowResult[int](ctx, e.c, inst, 20*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 2, attempt, "the second attempt succeeded")
		beats, errs := p.get(inst.InstanceID)
		assert.Equal(t, 1, beats)
		assert.Equal(t, []error{context.Canceled}, errs, "the stalled attempt's context was canceled by the heartbeat timeout")
	})
}
