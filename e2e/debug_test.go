package e2e

import (
	"context"
	"fmt"
	"testing"
)

// dumpHistory logs a run's events, for diagnosing a failed scenario.
func (e *env) dumpHistory(t *testing.T, inst string) {
	rec, err := e.b.GetInstance(context.Background(), inst)
	if err != nil {
		t.Logf("%s: %v", inst, err)
		return
	}
	h, err := e.b.ReadHistory(context.Background(), inst, rec.ExecutionID)
	if err != nil {
		t.Logf("%s: %v", inst, err)
		return
	}
	for _, ev := range h.Events() {
		t.Logf("%s %d %s %s sched=%d %v", inst, ev.ID, ev.Kind, ev.Name, ev.ScheduleID, fmt.Sprint(ev.Failure))
	}
}
