package streams

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indexSubjects lists the subjects the index holds rows on.
func indexSubjects(t *testing.T, b *Backend) map[string]uint64 {
	t.Helper()
	require.NoError(t, b.flushIndex(testContext(t)))
	info, err := b.index.Info(testContext(t), jetstream.WithSubjectFilter(b.n.indexAll()))
	require.NoError(t, err)
	return info.State.Subjects
}

func listIDs(t *testing.T, b *Backend, opts ListOptions) ([]string, *InstancePage) {
	t.Helper()
	page, err := b.ListInstances(testContext(t), opts)
	require.NoError(t, err)
	ids := make([]string, len(page.Instances))
	for i, r := range page.Instances {
		ids[i] = r.InstanceID
	}
	return ids, page
}

// createRunning creates the running instances i0 … i<n-1> of workflow
// Order, started a second apart from the base it returns.
func createRunning(t *testing.T, b *Backend, n int) (base time.Time) {
	t.Helper()
	base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		_, err := b.CreateInstance(testContext(t), record(fmt.Sprintf("i%d", i), StatusRunning, base.Add(time.Duration(i)*time.Second)))
		require.NoError(t, err)
	}
	return base
}

func TestIndexFollowsStatus(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	createRunning(t, b, 5)
	// i1 finishes: its row moves to the completed subject, and to the top.
	r, err := b.GetInstance(ctx, "i1")
	require.NoError(t, err)
	r.Status = StatusCompleted
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)

	subjects := indexSubjects(t, b)
	assert.Len(t, subjects, 5, "one row per instance: %v", subjects)
	assert.Contains(t, subjects, "wfx.default.completed.Order.i1")
	assert.NotContains(t, subjects, "wfx.default.running.Order.i1")

	ids, page := listIDs(t, b, ListOptions{})
	assert.Equal(t, []string{"i1", "i4", "i3", "i2", "i0"}, ids)
	assert.Equal(t, map[Status]int{StatusRunning: 4, StatusCompleted: 1}, page.Counts)
	ids, _ = listIDs(t, b, ListOptions{Status: StatusRunning})
	assert.Equal(t, []string{"i4", "i3", "i2", "i0"}, ids)

	// Removing an instance removes its row.
	require.NoError(t, b.DeleteInstance(ctx, "i3"))
	assert.NotContains(t, indexSubjects(t, b), "wfx.default.running.Order.i3")
	ids, _ = listIDs(t, b, ListOptions{Status: StatusRunning})
	assert.Equal(t, []string{"i4", "i2", "i0"}, ids)
	r, err = b.GetInstance(ctx, "i2")
	require.NoError(t, err)
	require.NoError(t, b.DeleteInstanceAt(ctx, "i2", r.Revision))
	assert.Len(t, indexSubjects(t, b), 3)
}

func TestIndexPagingSparseFilter(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// 600 instances; every 97th is of workflow Rare, so a filtered page
	// must look far below the top.
	var rare []string
	for i := range 600 {
		r := record(fmt.Sprintf("i%03d", i), StatusCompleted, base.Add(time.Duration(i)*time.Second))
		if i%97 == 0 {
			r.WorkflowName = "Rare"
			rare = append([]string{r.InstanceID}, rare...)
		}
		_, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
	}
	var got []string
	cursor := ""
	for {
		ids, page := listIDs(t, b, ListOptions{WorkflowName: "Rare", Limit: 2, After: cursor})
		got = append(got, ids...)
		assert.Equal(t, map[Status]int{StatusCompleted: len(rare)}, page.Counts)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, rare, got)

	// Unfiltered paging sees every instance once, newest first.
	got = nil
	cursor = ""
	for {
		ids, page := listIDs(t, b, ListOptions{Limit: 70, After: cursor})
		got = append(got, ids...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, got, 600)
	for i, id := range got {
		require.Equal(t, fmt.Sprintf("i%03d", 599-i), id)
	}
}

// TestIndexHeals proves the registry is the truth: a status change whose
// index write was lost (a crash between the two writes) is listed with
// its true status, and the list repairs the row.
func TestIndexHeals(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := createRunning(t, b, 3)
	// i1 finishes, but the index write is lost.
	b.indexHooks.skipWrites = true
	r, err := b.GetInstance(ctx, "i1")
	require.NoError(t, err)
	r.Status = StatusFailed
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)
	b.indexHooks.skipWrites = false
	require.Contains(t, indexSubjects(t, b), "wfx.default.running.Order.i1", "the row is stale before the list")

	// A list of running instances does not show it, and repairs its row.
	ids, _ := listIDs(t, b, ListOptions{Status: StatusRunning})
	assert.Equal(t, []string{"i2", "i0"}, ids)
	subjects := indexSubjects(t, b)
	assert.Contains(t, subjects, "wfx.default.failed.Order.i1")
	assert.NotContains(t, subjects, "wfx.default.running.Order.i1")
	ids, page := listIDs(t, b, ListOptions{Status: StatusFailed})
	assert.Equal(t, []string{"i1"}, ids)
	assert.Equal(t, map[Status]int{StatusRunning: 2, StatusFailed: 1}, page.Counts)

	// An instance whose row was never written, and a row whose instance
	// is gone: RebuildIndex repairs both.
	b.indexHooks.skipWrites = true
	_, err = b.CreateInstance(ctx, record("lost", StatusRunning, base.Add(time.Minute)))
	require.NoError(t, err)
	require.NoError(t, b.registry.Purge(ctx, "i0")) // the registry alone
	b.indexHooks.skipWrites = false
	written, removed, err := b.RebuildIndex(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, written)
	assert.Equal(t, 1, removed)
	subjects = indexSubjects(t, b)
	assert.Contains(t, subjects, "wfx.default.running.Order.lost")
	assert.Len(t, subjects, 3)
	ids, _ = listIDs(t, b, ListOptions{})
	assert.Equal(t, []string{"lost", "i1", "i2"}, ids)

	// Nothing left to repair.
	written, removed, err = b.RebuildIndex(ctx)
	require.NoError(t, err)
	assert.Zero(t, written+removed)
}

// TestIndexListRemovedInstance: a row left behind by a removal whose index
// purge was lost is dropped from the list and removed.
func TestIndexListRemovedInstance(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	createRunning(t, b, 3)
	require.NoError(t, b.registry.Purge(ctx, "i2"))
	ids, page := listIDs(t, b, ListOptions{Limit: 2})
	assert.Equal(t, []string{"i1", "i0"}, ids, "the page is filled from below")
	assert.Empty(t, page.NextCursor)
	assert.Len(t, indexSubjects(t, b), 2)
}

// A counter keeps only its last message, which holds the total: the
// counts stream does not grow with every change.
func TestCountsKeepOneMessagePerCounter(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		r := record(fmt.Sprintf("i%d", i), StatusRunning, base.Add(time.Duration(i)*time.Second))
		rev, err := b.CreateInstance(ctx, r)
		require.NoError(t, err)
		require.NoError(t, b.flushIndex(ctx))
		if i%2 == 0 {
			r.Revision = rev
			r.Status = StatusCompleted
			_, err = b.UpdateInstance(ctx, r, r.Revision)
			require.NoError(t, err)
			require.NoError(t, b.flushIndex(ctx))
		}
	}
	info, err := b.counts.Info(ctx, jetstream.WithSubjectFilter(b.n.countsAll()))
	require.NoError(t, err)
	require.NotEmpty(t, info.State.Subjects)
	for subject, n := range info.State.Subjects {
		assert.Equal(t, uint64(1), n, "%s keeps one message", subject)
	}
	assert.Equal(t, uint64(len(info.State.Subjects)), info.State.Msgs)
	_, page := listIDs(t, b, ListOptions{Limit: 1})
	assert.Equal(t, map[Status]int{StatusRunning: 10, StatusCompleted: 10}, page.Counts)
}

// Rows carry no body: the instance is the subject's last token. A row
// with a body (as earlier versions wrote) lists as before, and one whose
// instance token cannot be decoded is skipped, not an error.
func TestIndexRowsAreSubjectsOnly(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	createRunning(t, b, 3)
	require.NoError(t, b.flushIndex(ctx))
	row, err := b.index.GetLastMsgForSubject(ctx, "wfx.default.running.Order.i1")
	require.NoError(t, err)
	assert.Empty(t, row.Data)

	_, err = b.publish(ctx, &nats.Msg{Subject: "wfx.default.running.Order.i0", Data: []byte{0x81, 0xa1, 'i', 0xa2, 'i', '0'}})
	require.NoError(t, err)
	_, err = b.publish(ctx, &nats.Msg{Subject: "wfx.default.running.Order.=!!"})
	require.NoError(t, err)
	ids, _ := listIDs(t, b, ListOptions{})
	assert.Equal(t, []string{"i0", "i2", "i1"}, ids)
}
