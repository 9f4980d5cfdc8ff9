package streams

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndexWriterCrash: a process that dies with index writes queued
// (status changes and a removal, which nobody waits for) leaves stale rows;
// another process lists the instances as the registry has them, repairs
// the rows it reads and brings the counts back.
func TestIndexWriterCrash(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := createRunning(t, b, 3)
	// The crash: what is queued from now on is never written.
	b.indexHooks.dropQueued = true
	r, err := b.GetInstance(ctx, "i1")
	require.NoError(t, err)
	r.Status, r.FinishedAt = StatusCompleted, base.Add(time.Hour)
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)
	r2, err := b.GetInstance(ctx, "i2")
	require.NoError(t, err)
	r2.Status = StatusFailed
	_, err = b.UpdateInstance(ctx, r2, r2.Revision)
	require.NoError(t, err)
	require.NoError(t, b.RemoveInstance(ctx, r2, nil))
	require.NoError(t, b.flushIndex(ctx))
	require.Len(t, indexSubjects(t, b), 3, "the rows are stale: the writes were lost")

	// Another process, after the crash.
	other, err := Open(b.nc)
	require.NoError(t, err)
	ids, _ := listIDs(t, other, ListOptions{Status: StatusRunning})
	var page *InstancePage
	assert.Equal(t, []string{"i0"}, ids)
	subjects := indexSubjects(t, other)
	assert.Contains(t, subjects, "wfx.default.completed.Order.i1")
	assert.Len(t, subjects, 2)
	ids, page = listIDs(t, other, ListOptions{})
	assert.Equal(t, []string{"i1", "i0"}, ids)
	assert.Equal(t, map[Status]int{StatusRunning: 1, StatusCompleted: 1}, page.Counts)
}

// TestIndexWriterCounts: changes written in batches, counters summed per
// batch, end with the counts of the registry.
func TestIndexWriterCounts(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < 200; i += 8 {
				r := record(fmt.Sprintf("i%03d", i), StatusRunning, base.Add(time.Duration(i)*time.Second))
				_, err := b.CreateInstance(ctx, r)
				assert.NoError(t, err)
				if i%2 == 0 {
					continue
				}
				r.Status, r.FinishedAt = StatusCompleted, base.Add(time.Hour)
				_, err = b.UpdateInstance(ctx, r, r.Revision)
				assert.NoError(t, err)
				if i%4 == 1 {
					assert.NoError(t, b.RemoveInstance(ctx, r, nil))
				}
			}
		})
	}
	wg.Wait()
	_, page := listIDs(t, b, ListOptions{Limit: 1})
	assert.Equal(t, map[Status]int{StatusRunning: 100, StatusCompleted: 50}, page.Counts)
	assert.Len(t, indexSubjects(t, b), 150)
}

// TestIndexSparseFilters: filters that match a few rows far apart (read
// down a window at a time, one walker per window that holds none) list
// them newest first and page.
func TestIndexSparseFilters(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	require.NoError(t, b.LoadInstances(ctx, 3000, ListBenchRecord))
	for _, opts := range []ListOptions{
		{WorkflowName: "Rare", Limit: 2},
		{SearchAttributes: map[string]string{"tier": "gold"}, Limit: 2},
	} {
		want := []string{"i0002500", "i0001500", "i0000500"}
		if opts.WorkflowName == "" {
			want = []string{"i0002250", "i0001250", "i0000250"}
		}
		ids, page := listIDs(t, b, opts)
		assert.Equal(t, want[:2], ids, "%+v", opts)
		require.NotEmpty(t, page.NextCursor)
		opts.After = page.NextCursor
		ids, page = listIDs(t, b, opts)
		assert.Equal(t, want[2:], ids, "%+v", opts)
		assert.Empty(t, page.NextCursor)
	}
	ids, _ := listIDs(t, b, ListOptions{WorkflowName: "Rare", Status: StatusCompleted})
	assert.Equal(t, []string{"i0002500", "i0001500", "i0000500"}, ids)
}

// TestIndexListSeesARowMovedDuringTheRead: a status change between a
// first page's read of the index's end and its read of the rows moves the
// row above that end and purges it below; the page still lists it.
func TestIndexListSeesARowMovedDuringTheRead(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := createRunning(t, b, 3)
	b.indexHooks.afterTop = func() {
		b.indexHooks.afterTop = nil
		r, err := b.GetInstance(ctx, "i0")
		require.NoError(t, err)
		r.Status, r.FinishedAt = StatusCompleted, base.Add(time.Hour)
		_, err = b.UpdateInstance(ctx, r, r.Revision)
		require.NoError(t, err)
		require.NoError(t, b.flushIndex(ctx))
	}
	ids, _ := listIDs(t, b, ListOptions{})
	assert.Equal(t, []string{"i0", "i2", "i1"}, ids)

	// A page that is full keeps the limit; the cursor goes on below it.
	b.indexHooks.afterTop = func() {
		b.indexHooks.afterTop = nil
		r, err := b.GetInstance(ctx, "i1")
		require.NoError(t, err)
		r.Status, r.FinishedAt = StatusFailed, base.Add(time.Hour)
		_, err = b.UpdateInstance(ctx, r, r.Revision)
		require.NoError(t, err)
		require.NoError(t, b.flushIndex(ctx))
	}
	ids, page := listIDs(t, b, ListOptions{Limit: 2})
	assert.Equal(t, []string{"i1", "i0"}, ids)
	ids, _ = listIDs(t, b, ListOptions{Limit: 2, After: page.NextCursor})
	assert.Equal(t, []string{"i2"}, ids)
}

// TestIndexWriterCrashBeforeFirstRow: a process that dies between a new
// instance's registry write and its first row leaves the instance without
// a row; the instance's next status change, in another process, writes
// its row, and the counts stay right (the running row it replaces was
// never written, so never counted).
func TestIndexWriterCrashBeforeFirstRow(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.indexHooks.dropQueued = true // the crash
	_, err := b.CreateInstance(ctx, record("i0", StatusRunning, base))
	require.NoError(t, err)
	require.NoError(t, b.flushIndex(ctx))
	require.Empty(t, indexSubjects(t, b))

	other, err := Open(b.nc)
	require.NoError(t, err)
	r, err := other.GetInstance(ctx, "i0")
	require.NoError(t, err)
	r.Status, r.FinishedAt = StatusCompleted, base.Add(time.Hour)
	_, err = other.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)
	ids, page := listIDs(t, other, ListOptions{})
	assert.Equal(t, []string{"i0"}, ids)
	assert.Equal(t, map[Status]int{StatusCompleted: 1}, page.Counts)
}
