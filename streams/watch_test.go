package streams

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// changed waits up to a deadline for a change notice.
func changed(w *ChangeWatch, within time.Duration) bool {
	select {
	case <-w.C():
		return true
	case <-time.After(within):
		return false
	}
}

func TestWatchInstance(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	w, err := b.WatchInstance("order.42")
	require.NoError(t, err)
	defer w.Stop()
	all, err := b.WatchInstances()
	require.NoError(t, err)
	defer all.Stop()

	// Another instance is not this watch's business, but the registry
	// watch sees it.
	_, err = b.CreateInstance(ctx, record("order-42", StatusRunning, time.Now()))
	require.NoError(t, err)
	require.True(t, changed(all, 5*time.Second), "registry watch saw no create")

	rec := record("order.42", StatusRunning, time.Now())
	rev, err := b.CreateInstance(ctx, rec)
	require.NoError(t, err)
	require.True(t, changed(w, 5*time.Second), "no notice for the registry create")

	commitN(t, b, "order.42", rec.ExecutionID, 1)
	require.True(t, changed(w, 5*time.Second), "no notice for a commit")

	rec.Status = StatusCompleted
	_, err = b.UpdateInstance(ctx, rec, rev)
	require.NoError(t, err)
	require.True(t, changed(w, 5*time.Second), "no notice for the registry update")

	// Nothing more is pending: the other instance never reached this watch.
	require.False(t, changed(w, 100*time.Millisecond), "a notice for another instance")

	require.NoError(t, w.Stop())
	commitN(t, b, "order.42", "run-2", 1)
	require.False(t, changed(w, 200*time.Millisecond), "a notice after Stop")

	_, err = b.WatchInstance("")
	require.Error(t, err)
}
