package streams

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/history"
)

func TestCheckSearchAttributes(t *testing.T) {
	many := map[string]string{}
	for i := range MaxSearchAttributes + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name  string
		attrs map[string]string
		ok    bool
	}{
		{"none", nil, true},
		{"plain", map[string]string{"customer": "acme", "region-1_x": "eu west/ü"}, true},
		{"empty value (an upsert's removal)", map[string]string{"k": ""}, true},
		{"empty key", map[string]string{"": "x"}, false},
		{"space in key", map[string]string{"bad key": "x"}, false},
		{"dot in key", map[string]string{"a.b": "x"}, false},
		{"long key", map[string]string{strings.Repeat("k", MaxSearchAttributeKeyLen+1): "x"}, false},
		{"long value", map[string]string{"k": strings.Repeat("v", MaxSearchAttributeValueLen+1)}, false},
		{"not UTF-8", map[string]string{"k": string([]byte{0xff})}, false},
		{"too many", many, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSearchAttributes(tt.attrs)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalidSearchAttribute)
			}
		})
	}
}

func withAttrs(r *InstanceRecord, attrs map[string]string) *InstanceRecord {
	r.SearchAttributes = attrs
	return r
}

func TestIndexSearchAttributes(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acme := map[string]string{"customer": "acme", "region": "eu"}
	for i := range 6 {
		attrs := acme
		if i%2 == 1 {
			attrs = map[string]string{"customer": "other co", "region": "eu"}
		}
		_, err := b.CreateInstance(ctx, withAttrs(record(fmt.Sprintf("i%d", i), StatusRunning, base.Add(time.Duration(i)*time.Second)), attrs))
		require.NoError(t, err)
	}
	_, err := b.CreateInstance(ctx, record("plain", StatusRunning, base.Add(time.Minute)))
	require.NoError(t, err)

	subjects := indexSubjects(t, b)
	assert.Len(t, subjects, 7+12, "a status row per instance and a row per pair: %v", subjects)
	assert.Contains(t, subjects, "wfx.default.a.customer.acme.i0")
	assert.Contains(t, subjects, "wfx.default.a.customer."+encodeToken("other co")+".i1")

	// Status rows only: the attribute rows do not match status filters.
	ids, page := listIDs(t, b, ListOptions{})
	assert.Equal(t, []string{"plain", "i5", "i4", "i3", "i2", "i1", "i0"}, ids)
	assert.Equal(t, map[Status]int{StatusRunning: 7}, page.Counts)

	ids, page = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "acme"}})
	assert.Equal(t, []string{"i4", "i2", "i0"}, ids)
	assert.Equal(t, acme, page.Instances[0].SearchAttributes)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "other co", "region": "eu"}})
	assert.Equal(t, []string{"i5", "i3", "i1"}, ids)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "acme", "region": "us"}})
	assert.Empty(t, ids)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "acme"}, Status: StatusCompleted})
	assert.Empty(t, ids)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"region": "eu"}, WorkflowName: "Order", Status: StatusRunning})
	assert.Len(t, ids, 6)

	// Paging, two at a time.
	var all []string
	opts := ListOptions{SearchAttributes: map[string]string{"region": "eu"}, Limit: 2}
	for {
		ids, page := listIDs(t, b, opts)
		all = append(all, ids...)
		if page.NextCursor == "" {
			break
		}
		opts.After = page.NextCursor
	}
	assert.Equal(t, []string{"i5", "i4", "i3", "i2", "i1", "i0"}, all)

	// A changed attribute moves its row; a removed one loses it.
	r, err := b.GetInstance(ctx, "i0")
	require.NoError(t, err)
	r.SearchAttributes = map[string]string{"customer": "other co"}
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)
	subjects = indexSubjects(t, b)
	assert.NotContains(t, subjects, "wfx.default.a.customer.acme.i0")
	assert.NotContains(t, subjects, "wfx.default.a.region.eu.i0")
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "other co"}})
	assert.Equal(t, []string{"i0", "i5", "i3", "i1"}, ids)

	// Invalid filters are refused.
	_, err = b.ListInstances(ctx, ListOptions{SearchAttributes: map[string]string{"customer": ""}})
	assert.ErrorIs(t, err, ErrInvalidSearchAttribute)
	_, err = b.ListInstances(ctx, ListOptions{SearchAttributes: map[string]string{"a b": "x"}})
	assert.ErrorIs(t, err, ErrInvalidSearchAttribute)

	// Removing an instance removes its attribute rows.
	require.NoError(t, b.DeleteInstance(ctx, "i2"))
	for subj := range indexSubjects(t, b) {
		assert.False(t, strings.HasSuffix(subj, ".i2"), "row %s left", subj)
	}
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "acme"}})
	assert.Equal(t, []string{"i4"}, ids)
}

// TestIndexSearchAttributesHeal: rows a crash left stale are dropped by a
// list and purged; rows never written are written by RebuildIndex.
func TestIndexSearchAttributesHeal(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := b.CreateInstance(ctx, withAttrs(record("i0", StatusRunning, base), map[string]string{"stage": "new"}))
	require.NoError(t, err)

	// The attribute changes, but the index writes are lost.
	b.indexHooks.skipWrites = true
	r, err := b.GetInstance(ctx, "i0")
	require.NoError(t, err)
	r.SearchAttributes = map[string]string{"stage": "shipped"}
	_, err = b.UpdateInstance(ctx, r, r.Revision)
	require.NoError(t, err)
	_, err = b.CreateInstance(ctx, withAttrs(record("lost", StatusRunning, base.Add(time.Second)), map[string]string{"stage": "new"}))
	require.NoError(t, err)
	b.indexHooks.skipWrites = false

	ids, _ := listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"stage": "new"}})
	assert.Empty(t, ids, "the stale row is dropped")
	assert.NotContains(t, indexSubjects(t, b), "wfx.default.a.stage.new.i0", "and purged")

	written, removed, err := b.RebuildIndex(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, written, "lost's status row, its attribute row, i0's new attribute row")
	assert.Zero(t, removed)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"stage": "new"}})
	assert.Equal(t, []string{"lost"}, ids)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"stage": "shipped"}})
	assert.Equal(t, []string{"i0"}, ids)
	written, removed, err = b.RebuildIndex(ctx)
	require.NoError(t, err)
	assert.Zero(t, written+removed)
}

// TestRegisterRunSearchAttributes: attributes are kept across
// continue-as-new and replaced when a finished instance's ID is reused.
func TestRegisterRunSearchAttributes(t *testing.T) {
	b := newBackend(t)
	ctx := testContext(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := func(run string) *history.Event {
		return &history.Event{Kind: history.WorkflowStarted, Time: now, ExecutionID: run, Name: "Order", Queue: "default"}
	}
	_, _, err := b.RegisterRunWithAttributes(ctx, "o", start("r1"), map[string]string{"bad key": "x"})
	require.ErrorIs(t, err, ErrInvalidSearchAttribute)

	rec, _, err := b.RegisterRunWithAttributes(ctx, "o", start("r1"), map[string]string{"customer": "acme", "dropped": ""})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"customer": "acme"}, rec.SearchAttributes)
	rec.ContinueTo("r2", now)
	_, err = b.UpdateInstance(ctx, rec, rec.Revision)
	require.NoError(t, err)
	got, err := b.GetInstance(ctx, "o")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"customer": "acme"}, got.SearchAttributes)

	got.Finish(&history.Event{Kind: history.WorkflowCompleted, ID: 3}, now, false)
	_, err = b.UpdateInstance(ctx, got, got.Revision)
	require.NoError(t, err)
	rec, reused, err := b.RegisterRunWithAttributes(ctx, "o", start("r3"), map[string]string{"customer": "beta"})
	require.NoError(t, err)
	assert.Equal(t, "r2", reused)
	assert.Equal(t, map[string]string{"customer": "beta"}, rec.SearchAttributes)
	ids, _ := listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "acme"}})
	assert.Empty(t, ids)
	ids, _ = listIDs(t, b, ListOptions{SearchAttributes: map[string]string{"customer": "beta"}})
	assert.Equal(t, []string{"o"}, ids)
}
