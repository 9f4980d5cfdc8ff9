package streams

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// pendingRemovals counts the retention schedules stored for an instance.
func pendingRemovals(t *testing.T, ctx context.Context, b *Backend, inst string) uint64 {
	t.Helper()
	info, err := b.tasks.Info(ctx, jetstream.WithSubjectFilter(b.n.removal(inst)))
	require.NoError(t, err)
	return info.State.Subjects[b.n.removal(inst)]
}

// The worker publishes a removal again when it recovers a final commit's
// effects: a repeat, or a later run's removal, leaves one schedule.
func TestScheduleRemovalKeepsOneSchedulePerInstance(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour))
	ctx := testContext(t)
	finished := time.Now()
	require.NoError(t, b.ScheduleRemoval(ctx, "order-1", "run1", finished))
	require.NoError(t, b.ScheduleRemoval(ctx, "order-1", "run1", finished))
	require.Equal(t, uint64(1), pendingRemovals(t, ctx, b, "order-1"))
	require.NoError(t, b.ScheduleRemoval(ctx, "order-1", "run2", finished.Add(time.Minute)))
	require.Equal(t, uint64(1), pendingRemovals(t, ctx, b, "order-1"))

	require.ErrorIs(t, b.ScheduleRemoval(ctx, "", "run1", finished), ErrInvalidName)
}

func TestNoRetentionSchedulesNothing(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	require.Zero(t, b.Retention())
	require.NoError(t, b.ScheduleRemoval(ctx, "order-1", "run1", time.Now()))
	require.Zero(t, pendingRemovals(t, ctx, b, "order-1"))
}

// A fired removal that cannot be read is dead-lettered, not retried for
// ever, and the next one is still served.
func TestServeRetentionDeadLettersAnUnreadableFire(t *testing.T) {
	b := newBackend(t, WithRetention(time.Hour))
	ctx := testContext(t)
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.ServeRetention(serveCtx, 50*time.Millisecond, nil) }()
	t.Cleanup(func() { stop(); <-served })

	_, err := b.publish(ctx, &nats.Msg{Subject: b.n.expiry("bad"), Data: []byte("not json")})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the unreadable fire to be dead-lettered", func() bool {
		dead, err := b.DeadLetters(ctx, DeadRetention, 10)
		return err == nil && len(dead) == 1
	})
	dead, err := b.DeadLetters(ctx, DeadRetention, 10)
	require.NoError(t, err)
	require.Equal(t, b.n.expiry("bad"), dead[0].Subject)
	require.Equal(t, "not json", string(dead[0].Data))

	// A fire for an instance that is not there is acknowledged.
	_, err = b.publish(ctx, &nats.Msg{Subject: b.n.expiry("missing"), Data: []byte(`{"instance":"missing","run":"r1"}`)})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the fires to be acknowledged", func() bool {
		c, err := b.tasks.Consumer(ctx, b.n.retentionConsumer())
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer >= 2
	})
}
