package history

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOpenCommands(t *testing.T) {
	events := []Event{
		{Kind: WorkflowStarted, ID: 1},
		{Kind: ActivityScheduled, ID: 2},
		{Kind: ActivityScheduled, ID: 3},
		{Kind: TimerScheduled, ID: 4},
		{Kind: SubWorkflowScheduled, ID: 5},
		{Kind: SubWorkflowScheduled, ID: 6},
		{Kind: SignalWorkflowScheduled, ID: 7},
		{Kind: ActivityCompleted, ID: 8, ScheduleID: 2},
		{Kind: TimerCanceled, ID: 9, ScheduleID: 4},
		{Kind: SubWorkflowFailed, ID: 10, ScheduleID: 6},
		{Kind: ActivityCancelRequested, ID: 11, ScheduleID: 3},
		{Kind: WorkflowTerminated, ID: 12},
	}
	var ids []int64
	for _, e := range OpenCommands(events) {
		ids = append(ids, e.ID)
	}
	assert.Equal(t, []int64{3, 5}, ids, "an activity whose cancel was only requested is still open")
	assert.Empty(t, OpenCommands(nil))
}
