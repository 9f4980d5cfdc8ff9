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

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer message than fits", 20, "a longer me …[cut]"},
		{"ééééééééééé", 14, "éé …[cut]"}, // never splits a UTF-8 sequence
	} {
		got := Truncate(tt.in, tt.n)
		assert.Equal(t, tt.want, got, "%q to %d", tt.in, tt.n)
		assert.LessOrEqual(t, len(got), tt.n)
	}
	f := &Failure{Type: "X", Message: string(make([]byte, 5000)), Stack: string(make([]byte, 9000))}
	c := f.Cut()
	assert.LessOrEqual(t, len(c.Message), 2048)
	assert.LessOrEqual(t, len(c.Stack), 4096)
	assert.Equal(t, 5000, len(f.Message), "Cut leaves the original as it is")
	assert.Nil(t, (*Failure)(nil).Cut())
	assert.Equal(t, 0, (*Failure)(nil).Size())
}
