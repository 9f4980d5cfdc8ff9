package streams

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func activityTask(id int64) *ActivityTask {
	return &ActivityTask{
		InstanceID:    "order 42",
		ExecutionID:   "run1",
		ScheduleID:    id,
		WorkflowQueue: "default",
		Queue:         "default",
		Name:          "Charge",
		Args:          [][]byte{[]byte("a"), []byte("b")},
		Options:       history.ActivityOptions{MaxAttempts: 3, StartToClose: time.Minute},
		ScheduledAt:   time.Unix(1700000000, 5).UTC(),
	}
}

func fetchActivities(t testing.TB, q *ActivityQueue, n int) []*ActivityMessage {
	t.Helper()
	ctx := testContext(t)
	var got []*ActivityMessage
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		msgs, err := q.Fetch(ctx, n-len(got), 200*time.Millisecond)
		require.NoError(t, err)
		got = append(got, msgs...)
	}
	require.Len(t, got, n)
	return got
}

func TestActivityTaskLifecycle(t *testing.T) {
	b := newBackend(t, WithAckWait(time.Second))
	ctx := testContext(t)
	q, err := b.ActivityQueue(ctx, "default")
	require.NoError(t, err)

	want := activityTask(5)
	require.NoError(t, b.PublishActivity(ctx, want))
	require.NoError(t, b.PublishActivity(ctx, activityTask(5)), "a republished task is accepted")

	m := fetchActivities(t, q, 1)[0]
	require.NoError(t, m.Err)
	assert.Equal(t, want, m.Task)
	assert.Equal(t, 1, m.Attempt())

	// InProgress keeps the lease past the ack wait: the task is not handed
	// out again while its worker reports progress.
	for i := 0; i < 4; i++ {
		require.NoError(t, m.InProgress())
		msgs, err := q.Fetch(ctx, 1, 400*time.Millisecond)
		require.NoError(t, err)
		require.Empty(t, msgs, "redelivered while in progress")
	}

	// A retry: handed back with a delay, delivered again as attempt 2.
	require.NoError(t, m.NakWithDelay(200*time.Millisecond))
	nakAt := time.Now()
	again := fetchActivities(t, q, 1)[0]
	assert.GreaterOrEqual(t, time.Since(nakAt), 150*time.Millisecond, "redelivered before its delay")
	assert.Equal(t, 2, again.Attempt())
	require.NoError(t, again.AckSync(ctx))

	msgs, err := q.Fetch(ctx, 1, 100*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, msgs, "the republished duplicate was dropped and the task acked")
}

func TestActivityTaskTerm(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	q, err := b.ActivityQueue(ctx, "billing")
	require.NoError(t, err)
	task := activityTask(1)
	task.Queue = "billing"
	require.NoError(t, b.PublishActivity(ctx, task))
	m := fetchActivities(t, q, 1)[0]
	require.NoError(t, m.Term("unknown activity"))
	msgs, err := q.Fetch(ctx, 1, 100*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

func TestActivityQueuesAreSeparate(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	qa, err := b.ActivityQueue(ctx, "a")
	require.NoError(t, err)
	qb, err := b.ActivityQueue(ctx, "b.with.dots")
	require.NoError(t, err)
	ta, tb := activityTask(1), activityTask(2)
	ta.Queue, tb.Queue = "a", "b.with.dots"
	require.NoError(t, b.PublishActivity(ctx, ta))
	require.NoError(t, b.PublishActivity(ctx, tb))
	assert.EqualValues(t, 1, fetchActivities(t, qa, 1)[0].Task.ScheduleID)
	assert.EqualValues(t, 2, fetchActivities(t, qb, 1)[0].Task.ScheduleID)
}

func TestPublishActivityErrors(t *testing.T) {
	b := newBackend(t, WithPayloadThreshold(-1)) // "too large": kept inline
	ctx := context.Background()
	tests := []struct {
		name     string
		mutate   func(*ActivityTask)
		contains string
	}{
		{"no queue", func(a *ActivityTask) { a.Queue = "" }, "queue name is empty"},
		{"no instance", func(a *ActivityTask) { a.InstanceID = "" }, "instance ID is empty"},
		{"bad run", func(a *ActivityTask) { a.ExecutionID = "r.1" }, "execution ID"},
		{"no name", func(a *ActivityTask) { a.Name = "" }, "no name"},
		{"no schedule ID", func(a *ActivityTask) { a.ScheduleID = 0 }, "schedule ID 0"},
		{"too large", func(a *ActivityTask) { a.Args = [][]byte{make([]byte, 2<<20)} }, "payload too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := activityTask(1)
			tt.mutate(task)
			require.ErrorContains(t, b.PublishActivity(ctx, task), tt.contains)
		})
	}
	require.ErrorContains(t, b.PublishActivity(ctx, nil), "nil activity task")
}

func TestDecodeActivityTaskErrors(t *testing.T) {
	good, err := encodeActivityTask(activityTask(1))
	require.NoError(t, err)
	partial, err := encodeActivityTask(&ActivityTask{Name: "x"})
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"empty":          nil,
		"unknown format": append([]byte{9}, good[1:]...),
		"garbage":        {1, 0xc1},
		"missing fields": partial,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeActivityTask(data)
			require.ErrorIs(t, err, history.ErrMalformed)
		})
	}
}

func TestHeartbeatDetails(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	ref := ActivityRef{InstanceID: "order 42", ExecutionID: "run1", ScheduleID: 3}
	other := ActivityRef{InstanceID: "order 42", ExecutionID: "run1", ScheduleID: 4}

	_, ok, err := b.HeartbeatDetails(ctx, ref)
	require.NoError(t, err)
	assert.False(t, ok, "nothing stored yet")
	require.NoError(t, b.DeleteHeartbeatDetails(ctx, ref), "removing nothing")

	require.NoError(t, b.PutHeartbeatDetails(ctx, ref, [][]byte{[]byte("one")}))
	require.NoError(t, b.PutHeartbeatDetails(ctx, ref, [][]byte{[]byte("two"), []byte("2")}))
	require.NoError(t, b.PutHeartbeatDetails(ctx, other, [][]byte{[]byte("other")}))
	got, ok, err := b.HeartbeatDetails(ctx, ref)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, [][]byte{[]byte("two"), []byte("2")}, got, "the last write wins")

	require.NoError(t, b.DeleteHeartbeatDetails(ctx, ref))
	_, ok, err = b.HeartbeatDetails(ctx, ref)
	require.NoError(t, err)
	assert.False(t, ok)
	got, ok, err = b.HeartbeatDetails(ctx, other)
	require.NoError(t, err)
	assert.True(t, ok, "another activity's details stay")
	assert.Equal(t, [][]byte{[]byte("other")}, got)

	// Nothing is left behind in the bucket's stream, not even a marker.
	st, err := b.js.Stream(ctx, "KV_"+b.n.detailsBucket())
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, info.State.Msgs)

	// A value that is not heartbeat details is refused, not decoded.
	kv, _, err := b.detailsKV(ctx)
	require.NoError(t, err)
	key, err := b.detailsKey(ref)
	require.NoError(t, err)
	_, err = kv.Put(ctx, key, []byte{1, 0xdd, 0xff, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	_, _, err = b.HeartbeatDetails(ctx, ref)
	require.ErrorIs(t, err, history.ErrMalformed)

	_, _, err = b.HeartbeatDetails(ctx, ActivityRef{InstanceID: "i", ExecutionID: "r.1", ScheduleID: 1})
	require.ErrorIs(t, err, ErrInvalidName)
}
