package faults

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/history"
)

// recorder is a reporter that keeps what an audit reports.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func encodeInt(t *testing.T, v int) []byte {
	t.Helper()
	b, err := converter.Default.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// numbered gives the events IDs 1, 2, 3, ...
func numbered(evs ...history.Event) []history.Event {
	for i := range evs {
		evs[i].ID = int64(i + 1)
	}
	return evs
}

// TestChainAuditFindsFaults checks that the soak's Chain audit passes a
// right history and reports each kind of wrong one: an update applied
// twice or not at all, a wrong answer, a child's result taken twice, a
// child started twice, an activity completed twice.
func TestChainAuditFindsFaults(t *testing.T) {
	c := &chainRun{ID: "chain-0001", In: ChainInput{N: 1_000_001, Hops: 2, Updates: 2}}
	update := func(k int, answer int) []history.Event {
		id := updateID(c, k)
		return []history.Event{
			{Kind: history.UpdateAccepted, UpdateID: id},
			{Kind: history.ActivityScheduled},
			{Kind: history.ActivityCompleted},
			{Kind: history.UpdateCompleted, UpdateID: id, Result: encodeInt(t, answer)},
		}
	}
	// lastRun builds a last run from update blocks; ScheduleIDs are set
	// after numbering (each completion answers the schedule before it).
	lastRun := func(blocks ...[]history.Event) []history.Event {
		evs := []history.Event{{Kind: history.WorkflowStarted, ContinuedExecutionID: "r1"}}
		for _, b := range blocks {
			evs = append(evs, b...)
		}
		evs = numbered(append(evs, history.Event{Kind: history.WorkflowCompleted})...)
		for i := range evs {
			if evs[i].Kind == history.ActivityCompleted {
				evs[i].ScheduleID = evs[i-1].ID
			}
		}
		return evs
	}
	hop := func(results int, children ...string) []history.Event {
		evs := []history.Event{{Kind: history.WorkflowStarted}}
		for _, ch := range children {
			evs = append(evs, history.Event{Kind: history.SubWorkflowScheduled, InstanceID: ch})
		}
		for range results {
			evs = append(evs, history.Event{Kind: history.SubWorkflowCompleted, ScheduleID: 2, Result: encodeInt(t, LeafResult(c.In.N, 0))})
		}
		return numbered(append(evs, history.Event{Kind: history.WorkflowContinuedAsNew})...)
	}
	leaf := func(completions int) []history.Event {
		evs := []history.Event{{Kind: history.WorkflowStarted, Parent: &history.Parent{}}, {Kind: history.ActivityScheduled}}
		for range completions {
			evs = append(evs, history.Event{Kind: history.ActivityCompleted, ScheduleID: 2})
		}
		return numbered(append(evs, history.Event{Kind: history.WorkflowCompleted, Result: encodeInt(t, LeafResult(c.In.N, 0))})...)
	}
	child := ChildInstanceID(c.ID, 0)
	answer := func(k int) int { return UpdateAnswer(c.In.N, k) }
	tests := []struct {
		name  string
		audit func(r reporter)
		want  string // a part of the first error; empty: no error
	}{
		{"right last run", func(r reporter) { auditLastRun(r, "last", c, lastRun(update(1, answer(1)), update(2, answer(2)))) }, ""},
		{"update applied twice", func(r reporter) {
			auditLastRun(r, "last", c, lastRun(update(1, answer(1)), update(2, answer(2)), update(2, answer(2))))
		}, "accepted 2 times and completed 2 times"},
		{"update lost", func(r reporter) { auditLastRun(r, "last", c, lastRun(update(1, answer(1)))) }, "accepted 0 times"},
		{"wrong answer", func(r reporter) { auditLastRun(r, "last", c, lastRun(update(1, answer(1)), update(2, answer(1)))) }, "recorded answer"},
		{"right hop", func(r reporter) { auditHop(r, "hop", hop(1, child), child, LeafResult(c.In.N, 0)) }, ""},
		{"child result twice", func(r reporter) { auditHop(r, "hop", hop(2, child), child, LeafResult(c.In.N, 0)) }, "2 times"},
		{"child started twice", func(r reporter) { auditHop(r, "hop", hop(1, child, child), child, LeafResult(c.In.N, 0)) }, "2 children started"},
		{"right leaf", func(r reporter) { auditLeaf(r, "leaf", leaf(1), LeafResult(c.In.N, 0)) }, ""},
		{"leaf activity twice", func(r reporter) { auditLeaf(r, "leaf", leaf(2), LeafResult(c.In.N, 0)) }, "2 completions"},
		{"leaf wrong result", func(r reporter) { auditLeaf(r, "leaf", leaf(1), LeafResult(c.In.N, 1)) }, "completed with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			tt.audit(&r)
			if tt.want == "" {
				if len(r.errs) > 0 {
					t.Fatalf("audit of a right history reported %q", r.errs)
				}
				return
			}
			if !slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Fatalf("audit reported %q, want an error containing %q", r.errs, tt.want)
			}
		})
	}
}
