package streams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func record(id string, status Status, created time.Time) *InstanceRecord {
	return &InstanceRecord{
		InstanceID:   id,
		WorkflowName: "Order",
		Queue:        "default",
		ExecutionID:  "run-" + fmt.Sprint(created.Unix()),
		Status:       status,
		CreatedAt:    created,
		UpdatedAt:    created,
	}
}

func TestRegistryCreateGetUpdate(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r := record("order 42", StatusRunning, created)
	r.Parent = &history.Parent{InstanceID: "p", ExecutionID: "pr", ScheduleID: 4}
	rev, err := b.CreateInstance(ctx, r)
	require.NoError(t, err)
	assert.NotZero(t, rev)

	_, err = b.CreateInstance(ctx, record("order 42", StatusRunning, created))
	require.ErrorIs(t, err, ErrInstanceExists)

	got, err := b.GetInstance(ctx, "order 42")
	require.NoError(t, err)
	assert.Equal(t, rev, got.Revision)
	assert.Equal(t, r.Parent, got.Parent)
	assert.True(t, got.CreatedAt.Equal(created))
	assert.Equal(t, StatusRunning, got.Status)

	got.Status = StatusCompleted
	got.Result = []byte{0x2f}
	got.FinishedAt = created.Add(time.Second)
	rev2, err := b.UpdateInstance(ctx, got, rev)
	require.NoError(t, err)
	assert.Greater(t, rev2, rev)

	// A writer holding the old revision loses.
	stale := record("order 42", StatusFailed, created)
	_, err = b.UpdateInstance(ctx, stale, rev)
	require.ErrorIs(t, err, ErrRevisionConflict)

	final, err := b.GetInstance(ctx, "order 42")
	require.NoError(t, err)
	assert.Equal(t, StatusCompleted, final.Status)
	assert.Equal(t, []byte{0x2f}, final.Result)
	assert.True(t, final.Status.Finished())

	require.NoError(t, b.DeleteInstance(ctx, "order 42"))
	_, err = b.GetInstance(ctx, "order 42")
	require.ErrorIs(t, err, ErrInstanceNotFound)
	_, err = b.CreateInstance(ctx, record("order 42", StatusRunning, created))
	require.NoError(t, err, "a removed instance's ID can be used again")
}

func TestRegistryErrors(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	_, err := b.GetInstance(ctx, "missing")
	require.ErrorIs(t, err, ErrInstanceNotFound)
	_, err = b.GetInstance(ctx, "")
	require.ErrorIs(t, err, ErrInvalidName)
	_, err = b.CreateInstance(ctx, record("x", "sleeping", time.Now()))
	require.ErrorContains(t, err, `unknown status "sleeping"`)
	_, err = b.CreateInstance(ctx, nil)
	require.ErrorContains(t, err, "nil instance record")
	bad := record("x", StatusRunning, time.Now())
	bad.ExecutionID = "a b"
	_, err = b.CreateInstance(ctx, bad)
	require.ErrorIs(t, err, ErrInvalidName)
	_, err = b.UpdateInstance(ctx, record("missing", StatusRunning, time.Now()), 1)
	require.ErrorIs(t, err, ErrRevisionConflict)
	_, err = b.ListInstances(ctx, ListOptions{Status: "sleeping"})
	require.ErrorContains(t, err, "unknown status")
	_, err = b.ListInstances(ctx, ListOptions{Limit: -1})
	require.ErrorContains(t, err, "out of range")
	_, err = b.ListInstances(ctx, ListOptions{After: "nonsense"})
	require.ErrorContains(t, err, "malformed list cursor")
}

func TestRegistryList(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 25 instances, one a second; every third is completed; two are of
	// another workflow.
	for i := 0; i < 25; i++ {
		status := StatusRunning
		if i%3 == 0 {
			status = StatusCompleted
		}
		r := record(fmt.Sprintf("inst-%02d", i), status, base.Add(time.Duration(i)*time.Second))
		if i >= 23 {
			r.WorkflowName = "Refund"
		}
		_, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
	}
	// An update must not move an instance in the newest-first order.
	r, err := b.GetInstance(ctx, "inst-00")
	require.NoError(t, err)
	r.UpdatedAt = base.Add(time.Hour)
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)

	// Page through everything, 10 at a time.
	var ids []string
	cursor := ""
	pages := 0
	for {
		page, err := b.ListInstances(ctx, ListOptions{Limit: 10, After: cursor})
		require.NoError(t, err)
		pages++
		wantRunning := 16
		if pages > 1 {
			wantRunning++ // "late"
		}
		assert.Equal(t, map[Status]int{StatusRunning: wantRunning, StatusCompleted: 9}, page.Counts)
		for _, r := range page.Instances {
			ids = append(ids, r.InstanceID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		// A new instance between pages is newer than everything listed
		// and must not shift what comes next.
		if pages == 1 {
			_, err := b.CreateInstance(ctx, record("late", StatusRunning, base.Add(time.Hour)))
			require.NoError(t, err)
		}
	}
	assert.Equal(t, 3, pages)
	require.Len(t, ids, 25)
	for i, id := range ids {
		assert.Equal(t, fmt.Sprintf("inst-%02d", 24-i), id, "position %d", i)
	}

	completed, err := b.ListInstances(ctx, ListOptions{Status: StatusCompleted})
	require.NoError(t, err)
	require.Len(t, completed.Instances, 9)
	for _, r := range completed.Instances {
		assert.Equal(t, StatusCompleted, r.Status)
	}
	assert.Empty(t, completed.NextCursor)

	refunds, err := b.ListInstances(ctx, ListOptions{WorkflowName: "Refund"})
	require.NoError(t, err)
	require.Len(t, refunds.Instances, 2)
	assert.Equal(t, "inst-24", refunds.Instances[0].InstanceID)
	assert.Equal(t, map[Status]int{StatusRunning: 1, StatusCompleted: 1}, refunds.Counts)

	// The ID search ignores case and counts only what it keeps.
	found, err := b.ListInstances(ctx, ListOptions{IDContains: "ST-1"})
	require.NoError(t, err)
	require.Len(t, found.Instances, 10)
	assert.Equal(t, "inst-19", found.Instances[0].InstanceID)
	total := 0
	for _, n := range found.Counts {
		total += n
	}
	assert.Equal(t, 10, total)

	// Removed instances are not listed.
	require.NoError(t, b.DeleteInstance(ctx, "late"))
	all, err := b.ListInstances(ctx, ListOptions{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, all.Instances, 25)
}

func TestResultNotices(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	w, err := b.WatchResults("order.42")
	require.NoError(t, err)
	defer w.Stop()
	other, err := b.WatchResults("order-42")
	require.NoError(t, err)
	defer other.Stop()

	require.NoError(t, b.nc.Publish(b.n.result("=b3JkZXIuNDI"), []byte("garbage")))
	require.NoError(t, b.PublishResultNotice(ResultNotice{InstanceID: "order.42", ExecutionID: "r1", Status: StatusCompleted}))
	n, err := w.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, ResultNotice{InstanceID: "order.42", ExecutionID: "r1", Status: StatusCompleted}, *n, "the malformed notice is skipped")

	short, cancel := contextWithTimeout(t, 100*time.Millisecond)
	defer cancel()
	_, err = other.Next(short)
	require.Error(t, err, "a notice for another instance must not arrive")

	require.ErrorIs(t, b.PublishResultNotice(ResultNotice{}), ErrInvalidName)
	_, err = b.WatchResults("")
	require.ErrorIs(t, err, ErrInvalidName)
}

func TestStatusOf(t *testing.T) {
	for k, want := range map[history.Kind]Status{
		history.WorkflowCompleted:      StatusCompleted,
		history.WorkflowFailed:         StatusFailed,
		history.WorkflowCanceled:       StatusCanceled,
		history.WorkflowTerminated:     StatusTerminated,
		history.WorkflowContinuedAsNew: StatusContinuedAsNew,
		history.WorkflowStarted:        StatusRunning,
		history.ActivityCompleted:      StatusRunning,
	} {
		assert.Equal(t, want, StatusOf(k), "%s", k)
		assert.Equal(t, k.Final(), want.Finished(), "%s", k)
	}
}

// withMarkerTTL shortens the TTL of the registry's removal markers (0:
// markers are kept, as buckets provisioned before they expired keep them).
func withMarkerTTL(d time.Duration) Option {
	return func(o *options) error { o.markerTTL = d; return nil }
}

// registryMessages counts the messages the registry's stream holds:
// entries and removal markers.
func registryMessages(t *testing.T, ctx context.Context, b *Backend) uint64 {
	t.Helper()
	info, err := b.js.Stream(ctx, "KV_"+b.n.registryBucket())
	require.NoError(t, err)
	return info.CachedInfo().State.Msgs
}

// TestRemovalMarkersExpire: removing instances leaves the registry's
// stream empty once the markers' TTL has passed, so a namespace with
// retention does not grow by a marker per instance it ever ran; an ID is
// created again both over a marker and after it expired.
func TestRemovalMarkersExpire(t *testing.T) {
	b := newBackend(t, withMarkerTTL(time.Second))
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20
	for i := range n {
		r := record(fmt.Sprintf("i%02d", i), StatusRunning, base.Add(time.Duration(i)*time.Second))
		_, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
		r.Status, r.FinishedAt = StatusCompleted, base.Add(time.Hour)
		_, err = b.UpdateInstance(ctx, r, r.Revision)
		require.NoError(t, err)
		if i%2 == 0 {
			require.NoError(t, b.RemoveInstance(ctx, r, nil))
		} else {
			require.NoError(t, b.DeleteInstance(ctx, r.InstanceID))
		}
	}
	// Over a marker still there.
	_, err := b.CreateInstance(ctx, record("i00", StatusRunning, base))
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the removal markers to expire", func() bool {
		msgs, err := b.js.Stream(ctx, "KV_"+b.n.registryBucket())
		if err != nil {
			return false
		}
		info, err := msgs.Info(ctx)
		return err == nil && info.State.Msgs == 1 // i00's new entry
	})
	_, err = b.GetInstance(ctx, "i01")
	require.ErrorIs(t, err, ErrInstanceNotFound)
	// After the marker expired.
	_, err = b.CreateInstance(ctx, record("i01", StatusRunning, base))
	require.NoError(t, err)
	_, err = b.CreateInstance(ctx, record("i01", StatusRunning, base))
	require.ErrorIs(t, err, ErrInstanceExists)
	require.Equal(t, uint64(2), registryMessages(t, ctx, b))
}

// TestRemovalMarkersOfAnOldBucket: a registry provisioned before markers
// expired keeps its markers when opened (a purge with a TTL would be
// refused there), and the next New lets them expire.
func TestRemovalMarkersOfAnOldBucket(t *testing.T) {
	nc := connect(t, startServer(t))
	ctx := testContext(t)
	old, err := New(nc, withMarkerTTL(0))
	require.NoError(t, err)
	opened, err := Open(nc)
	require.NoError(t, err)
	require.Zero(t, opened.markerTTL)
	r := record("a", StatusCompleted, time.Now())
	_, err = old.CreateInstance(ctx, r)
	require.NoError(t, err)
	require.NoError(t, opened.DeleteInstance(ctx, "a"))
	require.Equal(t, uint64(1), registryMessages(t, ctx, opened), "the marker stays")

	upgraded, err := New(nc)
	require.NoError(t, err)
	st, err := upgraded.registry.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, registryMarkerTTL, st.LimitMarkerTTL())
	opened, err = Open(nc)
	require.NoError(t, err)
	require.Equal(t, registryMarkerTTL, opened.markerTTL)
	_, err = upgraded.CreateInstance(ctx, record("b", StatusCompleted, time.Now()))
	require.NoError(t, err)
	require.NoError(t, opened.DeleteInstance(ctx, "b"))
}
