package client

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

func TestDescribeWorkflowInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "busy", Queue: "orders"}, PlaceOrder, Order{ID: "7", Items: []string{"a"}})
	require.NoError(t, err)

	// Before a worker took it up: the registry only.
	d, err := e.c.DescribeWorkflowInstance(e.ctx, "busy")
	require.NoError(t, err)
	assert.Equal(t, "busy", d.InstanceID)
	assert.Equal(t, "PlaceOrder", d.WorkflowName)
	assert.Equal(t, "orders", d.Queue)
	assert.Equal(t, inst.ExecutionID, d.ExecutionID)
	assert.Equal(t, streams.StatusRunning, d.Status)
	assert.True(t, d.StartedAt.IsZero())
	assert.Zero(t, d.HistoryLength)
	assert.True(t, d.Pending.Empty())

	// A history with work in every state.
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	run := inst.ExecutionID
	e.commit("busy", run,
		history.Event{Kind: history.WorkflowStarted, Time: at(0), Name: "PlaceOrder", Queue: "orders",
			Args: [][]byte{encode(t, Order{ID: "7", Items: []string{"a"}})}, ContinuedExecutionID: "before"}, // 1
		history.Event{Kind: history.ActivityScheduled, Time: at(0), Name: "Charge", Queue: "orders",
			Activity: &history.ActivityOptions{MaxAttempts: 3}}, // 2: completed below
		history.Event{Kind: history.TimerScheduled, Time: at(0), FireAt: at(60)},                                                   // 3: pending
		history.Event{Kind: history.ActivityScheduled, Time: at(0), Name: "Ship", Queue: "shipping"},                               // 4: pending, cancel requested
		history.Event{Kind: history.SubWorkflowScheduled, Time: at(0), Name: "Invoice", InstanceID: "invoice-7", Queue: "billing"}, // 5
		history.Event{Kind: history.SignalWorkflowScheduled, Time: at(0), Name: "ping", InstanceID: "other"},                       // 6
	)
	e.commit("busy", run,
		history.Event{Kind: history.ActivityCompleted, Time: at(1), ScheduleID: 2, Result: encode(t, "ok")}, // 7
		history.Event{Kind: history.TimerScheduled, Time: at(1), FireAt: at(5)},                             // 8: canceled
		history.Event{Kind: history.TimerCanceled, Time: at(1), ScheduleID: 8},                              // 9
		history.Event{Kind: history.TimerScheduled, Time: at(1), FireAt: at(2)},                             // 10: fired
		history.Event{Kind: history.ActivityCancelRequested, Time: at(1), ScheduleID: 4},                    // 11
		history.Event{Kind: history.SubWorkflowScheduled, Time: at(1), Name: "Done", InstanceID: "done-7"},  // 12: completed
	)
	e.commit("busy", run,
		history.Event{Kind: history.TimerFired, Time: at(2), ScheduleID: 10},                // 13
		history.Event{Kind: history.SubWorkflowCompleted, Time: at(3), ScheduleID: 12},      // 14
		history.Event{Kind: history.CancelRequested, Time: at(4)},                           // 15
		history.Event{Kind: history.ActivityScheduled, Time: at(4), Name: "Cleanup"},        // 16: pending
		history.Event{Kind: history.SignalDelivered, Time: at(4), ScheduleID: 6},            // 17
		history.Event{Kind: history.SubWorkflowCancelRequested, Time: at(4), ScheduleID: 5}, // 18
	)

	d, err = e.c.DescribeWorkflowInstance(e.ctx, "busy")
	require.NoError(t, err)
	assert.Equal(t, at(0), d.StartedAt.UTC())
	assert.Equal(t, at(4), d.LastEventAt.UTC())
	assert.Equal(t, "before", d.ContinuedExecutionID)
	assert.Equal(t, 18, d.HistoryLength)
	assert.Equal(t, history.KindInvalid, d.Ended)
	require.Len(t, d.Input, 1)
	assert.Equal(t, map[string]any{"ID": "7", "Items": []any{"a"}, "Total": float64(0)}, normalizeNumbers(d.Input[0]))

	p := d.Pending
	assert.True(t, p.CancelRequested)
	require.Len(t, p.Activities, 2)
	assert.Equal(t, PendingActivity{ScheduleID: 4, Name: "Ship", Queue: "shipping", ScheduledAt: at(0), CancelRequested: true}, utcActivity(p.Activities[0]))
	assert.Equal(t, "Cleanup", p.Activities[1].Name)
	assert.Equal(t, int64(16), p.Activities[1].ScheduleID)
	require.Len(t, p.Timers, 1)
	assert.Equal(t, int64(3), p.Timers[0].TimerID)
	assert.Equal(t, at(60), p.Timers[0].FireAt.UTC())
	require.Len(t, p.SubWorkflows, 1)
	assert.Equal(t, "Invoice", p.SubWorkflows[0].Name)
	assert.Equal(t, "invoice-7", p.SubWorkflows[0].InstanceID)
	assert.Equal(t, "billing", p.SubWorkflows[0].Queue)
	assert.True(t, p.SubWorkflows[0].CancelRequested)
	assert.Empty(t, p.Signals)

	// The JSON form is what a CLI prints.
	data, err := json.Marshal(d)
	require.NoError(t, err)
	var asJSON map[string]any
	require.NoError(t, json.Unmarshal(data, &asJSON))
	assert.Equal(t, "busy", asJSON["instance_id"])
	assert.Equal(t, "running", asJSON["status"])
	assert.Contains(t, asJSON, "pending")
	assert.NotContains(t, asJSON, "EncodedInput")

	// The run ends: nothing is pending any more, and the result shows.
	e.commit("busy", run, history.Event{Kind: history.WorkflowCompleted, Time: at(9), Result: encode(t, Order{ID: "7"})})
	e.finish("busy", streams.StatusCompleted, Order{ID: "7", Total: 1.5}, nil)
	d, err = e.c.DescribeWorkflowInstance(e.ctx, "busy")
	require.NoError(t, err)
	assert.Equal(t, streams.StatusCompleted, d.Status)
	assert.Equal(t, history.WorkflowCompleted, d.Ended)
	assert.True(t, d.Pending.Empty())
	assert.True(t, d.Pending.CancelRequested)
	assert.Equal(t, map[string]any{"ID": "7", "Items": nil, "Total": 1.5}, normalizeNumbers(d.Result))
	assert.NotEmpty(t, d.EncodedResult)
	assert.False(t, d.FinishedAt.IsZero())

	_, err = e.c.DescribeWorkflowInstance(e.ctx, "nope")
	require.ErrorIs(t, err, ErrInstanceNotFound)
	_, err = e.c.DescribeWorkflowInstance(e.ctx, "")
	require.ErrorIs(t, err, streams.ErrInvalidName)
}

// utcActivity puts an activity's times in UTC, for comparing.
func utcActivity(a PendingActivity) PendingActivity {
	a.ScheduledAt = a.ScheduledAt.UTC()
	return a
}

// normalizeNumbers turns the integer types a msgpack decode gives into
// float64, as JSON would, so expectations can be written plainly.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = normalizeNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeNumbers(e)
		}
		return out
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint, float32:
		var f float64
		fmt.Sscan(fmt.Sprint(v), &f)
		return f
	}
	return v
}

func TestListWorkflowInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Seven instances: Greet ones and Add ones, some finished.
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("inst-%d", i)
		var err error
		if i%2 == 0 {
			_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: id}, Greet, "x")
		} else {
			_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: id}, Add, 1, 2)
		}
		require.NoError(t, err)
		ids = append(ids, id)
	}
	e.finish("inst-0", streams.StatusCompleted, "r", nil)
	e.finish("inst-3", streams.StatusFailed, nil, &history.Failure{Message: "x"})
	e.finish("inst-4", streams.StatusCompleted, "r", nil)

	// Newest first (by latest start or finish), three at a time.
	var all []string
	cursor := ""
	pages := 0
	for {
		page, err := e.c.ListWorkflowInstances(e.ctx, ListOptions{Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		pages++
		assert.LessOrEqual(t, len(page.Instances), 3)
		for _, in := range page.Instances {
			all = append(all, in.InstanceID)
		}
		assert.Equal(t, map[streams.Status]int{streams.StatusRunning: 4, streams.StatusCompleted: 2, streams.StatusFailed: 1}, page.Counts)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{"inst-4", "inst-3", "inst-0", "inst-6", "inst-5", "inst-2", "inst-1"}, all)

	tests := []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"by status", ListOptions{Status: streams.StatusCompleted}, []string{"inst-4", "inst-0"}},
		{"by workflow", ListOptions{WorkflowName: "Add"}, []string{"inst-3", "inst-5", "inst-1"}},
		{"by both", ListOptions{WorkflowName: "Greet", Status: streams.StatusRunning}, []string{"inst-6", "inst-2"}},
		{"no match", ListOptions{WorkflowName: "Nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.c.ListWorkflowInstances(e.ctx, tt.opts)
			require.NoError(t, err)
			var got []string
			for _, in := range page.Instances {
				got = append(got, in.InstanceID)
			}
			assert.Equal(t, tt.want, got)
			assert.Empty(t, page.NextCursor)
		})
	}

	page, err := e.c.ListWorkflowInstances(e.ctx, ListOptions{Status: streams.StatusCompleted, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Instances, 1)
	in := page.Instances[0]
	assert.Equal(t, "inst-4", in.InstanceID)
	assert.Equal(t, "Greet", in.WorkflowName)
	assert.Equal(t, "r", in.Result)
	assert.Equal(t, map[streams.Status]int{streams.StatusRunning: 4, streams.StatusCompleted: 2, streams.StatusFailed: 1}, page.Counts)

	_, err = e.c.ListWorkflowInstances(e.ctx, ListOptions{Status: "sleeping"})
	assert.ErrorContains(t, err, "unknown status")
	_, err = e.c.ListWorkflowInstances(e.ctx, ListOptions{Cursor: "garbage"})
	assert.ErrorContains(t, err, "cursor")
}

func TestGetWorkflowHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "h"}, Add, 1, 2)
	require.NoError(t, err)

	h, err := e.c.GetWorkflowHistory(e.ctx, first)
	require.NoError(t, err)
	assert.Empty(t, h.Events)
	assert.False(t, h.Finished())

	started := history.Event{Kind: history.WorkflowStarted, Name: "Add", InboxID: "start:" + first.ExecutionID,
		Args: [][]byte{encode(t, 1), encode(t, 2)}}
	e.commit("h", first.ExecutionID, started, history.Event{Kind: history.ActivityScheduled, Name: "Sum", Args: [][]byte{encode(t, map[int]string{1: "one"})}})
	h, err = e.c.GetWorkflowHistory(e.ctx, &workflow.Instance{InstanceID: "h"})
	require.NoError(t, err)
	require.Len(t, h.Events, 2)
	assert.Equal(t, first.ExecutionID, h.ExecutionID)
	assert.Equal(t, history.WorkflowStarted, h.Events[0].Kind)

	// Follow: only what is new.
	e.commit("h", first.ExecutionID,
		history.Event{Kind: history.ActivityCompleted, ScheduleID: 2, Result: encode(t, 3)},
		history.Event{Kind: history.WorkflowCompleted, Result: encode(t, 3)})
	more, err := e.c.GetWorkflowHistoryAfter(e.ctx, &workflow.Instance{InstanceID: "h", ExecutionID: h.ExecutionID}, h.LastSeq)
	require.NoError(t, err)
	require.Len(t, more.Events, 2)
	assert.Equal(t, int64(3), more.Events[0].ID)
	assert.True(t, more.Finished())
	again, err := e.c.GetWorkflowHistoryAfter(e.ctx, &workflow.Instance{InstanceID: "h", ExecutionID: h.ExecutionID}, more.LastSeq)
	require.NoError(t, err)
	assert.Empty(t, again.Events)
	assert.Equal(t, more.LastSeq, again.LastSeq)

	// Decoded for display, and JSON-able.
	full, err := e.c.GetWorkflowHistory(e.ctx, first)
	require.NoError(t, err)
	decoded := e.c.DecodeEvents(full.Events)
	require.Len(t, decoded, 4)
	assert.Equal(t, []any{int64(1), int64(2)}, decoded[0].Args)
	assert.Equal(t, []any{map[string]any{"1": "one"}}, decoded[1].Args)
	assert.EqualValues(t, 3, decoded[3].Result)
	data, err := json.Marshal(decoded)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"kind":"WorkflowStarted"`)
	assert.Contains(t, string(data), `"args":[1,2]`)
	assert.Contains(t, string(data), `"result":3`)

	// An earlier run stays readable after the ID is reused.
	e.finish("h", streams.StatusCompleted, 3, nil)
	second, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: "h"}, Add, 5, 6)
	require.NoError(t, err)
	old, err := e.c.GetWorkflowHistory(e.ctx, first)
	require.NoError(t, err)
	assert.Len(t, old.Events, 4)
	cur, err := e.c.GetWorkflowHistory(e.ctx, &workflow.Instance{InstanceID: "h"})
	require.NoError(t, err)
	assert.Equal(t, second.ExecutionID, cur.ExecutionID)
	assert.Empty(t, cur.Events)

	_, err = e.c.GetWorkflowHistory(e.ctx, &workflow.Instance{InstanceID: "h", ExecutionID: "never"})
	require.ErrorIs(t, err, ErrExecutionNotFound)
	_, err = e.c.GetWorkflowHistory(e.ctx, &workflow.Instance{InstanceID: "nope"})
	require.ErrorIs(t, err, ErrInstanceNotFound)
}

func TestDecodePayload(t *testing.T) {
	c := &Client{conv: converter.Default}
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"string", encode(t, "a"), "a"},
		{"nil", encode(t, nil), nil},
		{"struct", encode(t, Approval{By: "ann"}), map[string]any{"By": "ann", "Note": ""}},
		{"int keys", encode(t, map[int]bool{7: true}), map[string]any{"7": true}},
		{"nested", encode(t, []any{map[int]int{1: 2}}), []any{map[string]any{"1": int64(2)}}},
		{"numbers", encode(t, []any{uint64(1 << 63), -5, 2.5, float32(1.5)}), []any{uint64(1 << 63), int64(-5), 2.5, 1.5}},
		{"bytes", encode(t, []byte("raw")), "raw"},
		{"not a number", encode(t, []float64{math.NaN(), math.Inf(-1)}), []any{"NaN", "-Inf"}},
		{"time", encode(t, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.DecodePayload(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			_, err = json.Marshal(got)
			require.NoError(t, err)
		})
	}
	_, err := c.DecodePayload([]byte{0xc1})
	require.Error(t, err)
	shown := c.DisplayPayload([]byte{0xc1})
	require.IsType(t, UndecodablePayload{}, shown)
	assert.Equal(t, 1, shown.(UndecodablePayload).Size)
}

func TestSearchAttributes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := map[string]string{"customer": "acme", "region": "eu"}
	for i := range 5 {
		attrs := acme
		if i == 2 {
			attrs = map[string]string{"customer": "other"}
		}
		_, err := e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{InstanceID: fmt.Sprintf("sa-%d", i), SearchAttributes: attrs}, Greet, "x")
		require.NoError(t, err)
	}

	// Filtered and paged, two at a time.
	var ids []string
	opts := ListOptions{SearchAttributes: map[string]string{"customer": "acme", "region": "eu"}, Limit: 2}
	for {
		page, err := e.c.ListWorkflowInstances(e.ctx, opts)
		require.NoError(t, err)
		for _, in := range page.Instances {
			ids = append(ids, in.InstanceID)
			assert.Equal(t, acme, in.SearchAttributes)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	assert.Equal(t, []string{"sa-4", "sa-3", "sa-1", "sa-0"}, ids)

	d, err := e.c.DescribeWorkflowInstance(e.ctx, "sa-2")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"customer": "other"}, d.SearchAttributes)

	// A finished instance, removed, is listed no more.
	e.finish("sa-4", streams.StatusCompleted, "r", nil)
	require.NoError(t, e.c.RemoveWorkflowInstance(e.ctx, &workflow.Instance{InstanceID: "sa-4"}))
	page, err := e.c.ListWorkflowInstances(e.ctx, ListOptions{SearchAttributes: map[string]string{"customer": "acme"}})
	require.NoError(t, err)
	require.Len(t, page.Instances, 3)
	assert.Equal(t, "sa-3", page.Instances[0].InstanceID)

	for _, bad := range []map[string]string{{"bad key": "x"}, {"k": string([]byte{0xff})}, {"": "x"}} {
		_, err = e.c.CreateWorkflowInstance(e.ctx, WorkflowInstanceOptions{SearchAttributes: bad}, Greet, "x")
		require.ErrorIs(t, err, streams.ErrInvalidSearchAttribute, "%v", bad)
	}
	_, err = e.c.ListWorkflowInstances(e.ctx, ListOptions{SearchAttributes: map[string]string{"customer": ""}})
	require.ErrorIs(t, err, streams.ErrInvalidSearchAttribute)
}
