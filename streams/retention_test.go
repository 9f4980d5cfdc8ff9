package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storedSchedule is a retention schedule as stored: its due time and the
// removals it carries.
type storedSchedule struct {
	at       string
	expiries []Expiry
}

// retentionSchedules reads the retention schedules stored and not fired.
func retentionSchedules(t *testing.T, ctx context.Context, b *Backend) []storedSchedule {
	t.Helper()
	info, err := b.tasks.Info(ctx, jetstream.WithSubjectFilter(b.n.removals()))
	require.NoError(t, err)
	var out []storedSchedule
	for subj := range info.State.Subjects {
		m, err := b.tasks.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		exps, err := decodeExpiries(m.Data)
		require.NoError(t, err)
		out = append(out, storedSchedule{at: m.Header.Get(hdrSchedule), expiries: exps})
	}
	return out
}

// Removals armed while a schedule is being published share the next one,
// due when the last of them is; every removal is in exactly one schedule.
func TestScheduleRemovalBatches(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour))
	ctx := testContext(t)
	release := make(chan struct{})
	var first sync.Once
	b.removals.beforePublish = func() { first.Do(func() { <-release }) }

	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 100
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- b.ScheduleRemoval(ctx, fmt.Sprintf("order-%d", i), "run1", base.Add(time.Duration(i)*time.Millisecond))
		}()
	}
	eventually(t, 20*time.Second, "every removal to be queued", func() bool {
		b.removals.mu.Lock()
		defer b.removals.mu.Unlock()
		return len(b.removals.pending) == n
	})
	close(release)
	for range n {
		require.NoError(t, <-errs)
	}

	schedules := retentionSchedules(t, ctx, b)
	require.Len(t, schedules, 1, "one schedule for the removals armed together")
	assert.Equal(t, "@at "+base.Add(time.Hour+(n-1)*time.Millisecond).Format(time.RFC3339Nano), schedules[0].at)
	seen := map[string]bool{}
	for _, e := range schedules[0].expiries {
		assert.False(t, seen[e.InstanceID], "%s twice", e.InstanceID)
		seen[e.InstanceID] = true
		assert.Equal(t, e.FinishedAt.Add(time.Hour), e.Due)
	}
	assert.Len(t, seen, n)

	// Bad input is refused before anything is queued.
	require.ErrorIs(t, b.ScheduleRemoval(ctx, "", "run1", base), ErrInvalidName)
	require.Error(t, b.ScheduleRemoval(ctx, "order-1", "", base))
	assert.Len(t, retentionSchedules(t, ctx, b), 1)
}

func TestNoRetentionSchedulesNothing(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	require.Zero(t, b.Retention())
	require.NoError(t, b.ScheduleRemoval(ctx, "order-1", "run1", time.Now()))
	require.Empty(t, retentionSchedules(t, ctx, b))
}

// serveRetention serves the backend's retention until the test ends and
// returns the instances it removed, as reported.
func serveRetention(t *testing.T, b *Backend) func() []string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	var removed []string
	served := make(chan error, 1)
	go func() {
		served <- b.ServeRetention(ctx, 50*time.Millisecond, func(e Expiry) {
			mu.Lock()
			removed = append(removed, e.InstanceID)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() { stop(); <-served })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), removed...)
	}
}

// A schedule that comes due removes every finished instance it carries,
// leaves alone one restarted since and one gone, and is acknowledged.
func TestServeRetentionRemovesABatch(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour))
	ctx := testContext(t)
	removed := serveRetention(t, b)

	finished := time.Now().Add(-time.Hour) // due now
	var recs []*InstanceRecord
	for i := range 3 {
		r := record(fmt.Sprintf("done-%d", i), StatusCompleted, finished)
		_, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
		recs = append(recs, r)
	}
	// All four in one schedule: the first publish waits until they are
	// queued.
	release := make(chan struct{})
	var first sync.Once
	b.removals.beforePublish = func() { first.Do(func() { <-release }) }
	errs := make(chan error, 4)
	for _, r := range recs {
		run := r.ExecutionID
		if r.InstanceID == "done-2" {
			run = "an-earlier-run" // restarted since: its new run stays
		}
		go func() { errs <- b.ScheduleRemoval(ctx, r.InstanceID, run, finished) }()
	}
	go func() { errs <- b.ScheduleRemoval(ctx, "never-there", "run1", finished) }()
	eventually(t, 20*time.Second, "the removals to be queued", func() bool {
		b.removals.mu.Lock()
		defer b.removals.mu.Unlock()
		return len(b.removals.pending) == 4
	})
	close(release)
	for range 4 {
		require.NoError(t, <-errs)
	}

	eventually(t, 20*time.Second, "the due removals", func() bool { return len(removed()) == 2 })
	assert.ElementsMatch(t, []string{"done-0", "done-1"}, removed())
	for _, id := range []string{"done-0", "done-1"} {
		_, err := b.GetInstance(ctx, id)
		assert.ErrorIs(t, err, ErrInstanceNotFound, id)
	}
	_, err := b.GetInstance(ctx, "done-2")
	require.NoError(t, err)
	retentionDrained(t, ctx, b)
	assert.Empty(t, retentionSchedules(t, ctx, b), "fired schedules are gone")
}

// retentionDrained waits until every fire was delivered and acknowledged.
func retentionDrained(t *testing.T, ctx context.Context, b *Backend) {
	t.Helper()
	eventually(t, 20*time.Second, "the fires to be acknowledged", func() bool {
		c, err := b.tasks.Consumer(ctx, b.n.retentionConsumer())
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer >= 1
	})
}

// A fired removal that cannot be read is dead-lettered, not retried for
// ever, and the next one is still served; a fire of the single removal a
// schedule carried before batches is still served.
func TestServeRetentionDeadLettersAnUnreadableFire(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour))
	ctx := testContext(t)
	removed := serveRetention(t, b)

	for _, bad := range []string{"not json", `{"expiries":[{"run":"r1"}]}`} {
		_, err := b.publish(ctx, &nats.Msg{Subject: b.n.expiry("bad"), Data: []byte(bad)})
		require.NoError(t, err)
	}
	eventually(t, 20*time.Second, "the unreadable fires to be dead-lettered", func() bool {
		dead, err := b.DeadLetters(ctx, DeadRetention, 10)
		return err == nil && len(dead) == 2
	})
	dead, err := b.DeadLetters(ctx, DeadRetention, 10)
	require.NoError(t, err)
	var bodies []string
	for _, d := range dead {
		assert.Equal(t, b.n.expiry("bad"), d.Subject)
		bodies = append(bodies, string(d.Data))
	}
	assert.ElementsMatch(t, []string{"not json", `{"expiries":[{"run":"r1"}]}`}, bodies)

	r := record("old-style", StatusCompleted, time.Now().Add(-2*time.Hour))
	_, err = b.CreateInstance(ctx, r)
	require.NoError(t, err)
	one, err := json.Marshal(Expiry{InstanceID: r.InstanceID, ExecutionID: r.ExecutionID})
	require.NoError(t, err)
	_, err = b.publish(ctx, &nats.Msg{Subject: b.n.expiry("old-style"), Data: one})
	require.NoError(t, err)
	_, err = b.publish(ctx, &nats.Msg{Subject: b.n.expiry("missing"), Data: []byte(`{"instance":"missing","run":"r1"}`)})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the single removal", func() bool { return len(removed()) == 1 })
	assert.Equal(t, []string{"old-style"}, removed())
	retentionDrained(t, ctx, b)
}

// A schedule that cannot be stored fails every removal it carries, with
// the instance named, and the queue goes on: nothing waits for ever.
func TestScheduleRemovalReportsAFailedPublish(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour), WithRequestTimeout(300*time.Millisecond))
	ctx := testContext(t)
	require.NoError(t, b.js.DeleteStream(ctx, b.n.tasksStream()))
	err := b.ScheduleRemoval(ctx, "order-1", "run1", time.Now())
	require.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
	assert.Contains(t, err.Error(), `"order-1"`)
	err = b.ScheduleRemoval(ctx, "order-2", "run1", time.Now())
	require.ErrorIs(t, err, jetstream.ErrNoStreamResponse, "the next removal is published, and fails, too")
	eventually(t, 20*time.Second, "the queue to be idle", func() bool {
		b.removals.mu.Lock()
		defer b.removals.mu.Unlock()
		return !b.removals.busy && len(b.removals.pending) == 0
	})
}
