package streams

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams/embedded"
)

// History, inbox messages, activity tasks and registry entries are in the
// file store, so a server restart loses none of them.
func TestStateSurvivesServerRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := testContext(t)

	srv, err := embedded.Start(embedded.Options{Dir: dir})
	require.NoError(t, err)
	nc, err := srv.Connect()
	require.NoError(t, err)
	b, err := New(nc, WithNamespace("keep"))
	require.NoError(t, err)
	last := commitN(t, b, "order 1", "run", 3)
	require.NoError(t, b.PublishEvent(ctx, "default", "order 1", signal("s1")))
	require.NoError(t, b.PublishActivity(ctx, activityTask(9)))
	_, err = b.CreateInstance(ctx, record("order 1", StatusRunning, time.Now().UTC()))
	require.NoError(t, err)
	nc.Close()
	srv.Shutdown()

	srv2, err := embedded.Start(embedded.Options{Dir: dir})
	require.NoError(t, err)
	defer srv2.Shutdown()
	b2, err := New(connect(t, srv2), WithNamespace("keep"))
	require.NoError(t, err)

	h, err := b2.ReadHistory(ctx, "order 1", "run")
	require.NoError(t, err)
	assert.Len(t, h.Commits, 3)
	assert.Equal(t, last, h.LastSeq)
	_, err = b2.Commit(ctx, "order 1", "run", last, testCommit(3))
	require.NoError(t, err, "the sequence check works across the restart")

	q, err := b2.InboxQueue(ctx, "default")
	require.NoError(t, err)
	m := fetchInbox(t, q, 1)[0]
	assert.Equal(t, "s1", m.Event.InboxID)

	aq, err := b2.ActivityQueue(ctx, "default")
	require.NoError(t, err)
	a := fetchActivities(t, aq, 1)[0]
	assert.EqualValues(t, 9, a.Task.ScheduleID)

	r, err := b2.GetInstance(ctx, "order 1")
	require.NoError(t, err)
	assert.Equal(t, StatusRunning, r.Status)
}
