package streams

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams/embedded"
)

func TestTimerFiresOnTime(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)

	due := time.Now().Add(300 * time.Millisecond)
	require.NoError(t, b.ScheduleTimer(ctx, "default", "sleepy one", "run1", 3, due))

	m := fetchInbox(t, q, 1)[0]
	require.NoError(t, m.Err)
	assert.Equal(t, "sleepy one", m.InstanceID)
	assert.Equal(t, history.TimerFired, m.Event.Kind)
	assert.EqualValues(t, 3, m.Event.ScheduleID)
	assert.Equal(t, "run1", m.Event.ExecutionID)
	assert.Equal(t, TimerInboxID("sleepy one", "run1", 3), m.Event.InboxID)
	assert.True(t, m.Event.FireAt.Equal(due.UTC().Truncate(time.Nanosecond)), "FireAt %v, due %v", m.Event.FireAt, due)

	// The server stamps the fired message when it puts it in the inbox.
	fired := m.Published()
	assert.False(t, fired.Before(due), "fired %v before its due time", due.Sub(fired))
	assert.Less(t, fired.Sub(due), 100*time.Millisecond, "fired late")
	require.NoError(t, m.AckSync(ctx))
}

func TestCanceledTimerNeverFires(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)

	now := time.Now()
	require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "r", 1, now.Add(300*time.Millisecond)))
	require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "r", 2, now.Add(600*time.Millisecond)))
	require.NoError(t, b.CancelTimer(ctx, "i", "r", 1))
	require.NoError(t, b.CancelTimer(ctx, "i", "r", 1), "canceling twice is no error")
	require.NoError(t, b.CancelTimer(ctx, "i", "r", 99), "canceling a timer that never existed is no error")

	// Timer 2 fires after canceled timer 1 was due; had 1 fired, it would
	// be in the inbox before 2.
	m := fetchInbox(t, q, 1)[0]
	assert.EqualValues(t, 2, m.Event.ScheduleID)
	require.NoError(t, m.AckSync(ctx))
	assertInboxEmpty(t, q)
}

func TestCancelRunTimers(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)
	now := time.Now()
	for id := int64(1); id <= 3; id++ {
		require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "old", id, now.Add(300*time.Millisecond)))
	}
	require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "new", 1, now.Add(600*time.Millisecond)))
	require.NoError(t, b.CancelRunTimers(ctx, "i", "old"))
	m := fetchInbox(t, q, 1)[0]
	assert.Equal(t, "new", m.Event.ExecutionID)
	require.NoError(t, m.AckSync(ctx))
	assertInboxEmpty(t, q)
}

func TestTimerInThePastFiresAtOnce(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.InboxQueue(ctx, "default")
	require.NoError(t, err)
	require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "r", 1, time.Now().Add(-time.Hour)))
	m := fetchInbox(t, q, 1)[0]
	assert.EqualValues(t, 1, m.Event.ScheduleID)
}

// A timer whose due time passes while the server is down fires once the
// server is back: the schedule is in the file store, not in memory.
func TestTimerDueWhileServerDownFiresAfterRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := embedded.Start(embedded.Options{Dir: dir})
	require.NoError(t, err)
	nc, err := srv.Connect()
	require.NoError(t, err)
	b, err := New(nc)
	require.NoError(t, err)
	ctx := testContext(t)
	due := time.Now().Add(400 * time.Millisecond)
	require.NoError(t, b.ScheduleTimer(ctx, "default", "i", "r", 7, due))
	nc.Close()
	srv.Shutdown()
	stoppedAt := time.Now()
	require.True(t, stoppedAt.Before(due), "the server took too long to stop for this test to mean anything")

	time.Sleep(time.Until(due) + 200*time.Millisecond) // let the due time pass while the server is down

	srv2, err := embedded.Start(embedded.Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(srv2.Shutdown)
	b2, err := New(connect(t, srv2))
	require.NoError(t, err)
	q, err := b2.InboxQueue(ctx, "default")
	require.NoError(t, err)
	m := fetchInbox(t, q, 1)[0]
	assert.EqualValues(t, 7, m.Event.ScheduleID)
	assert.True(t, m.Published().After(due))
}

func TestScheduleTimerErrors(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	at := time.Now().Add(time.Hour)
	require.ErrorIs(t, b.ScheduleTimer(ctx, "", "i", "r", 1, at), ErrInvalidName)
	require.ErrorIs(t, b.ScheduleTimer(ctx, "default", "", "r", 1, at), ErrInvalidName)
	require.ErrorIs(t, b.ScheduleTimer(ctx, "default", "i", "", 1, at), ErrInvalidName)
	require.ErrorContains(t, b.ScheduleTimer(ctx, "default", "i", "r", 0, at), "timer ID 0")
	require.ErrorIs(t, b.CancelTimer(ctx, "", "r", 1), ErrInvalidName)
	require.ErrorIs(t, b.CancelRunTimers(ctx, "i", "a.b"), ErrInvalidName)
}
