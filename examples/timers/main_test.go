package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
)

func TestRemind(t *testing.T) {
	start := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		doneAt  time.Duration // when a "done" signal comes; 0 for never
		want    []string
		endedAt time.Duration
	}{
		{"all reminders", 0, []string{"reminder 1", "reminder 2", "reminder 3"}, 3 * 24 * time.Hour},
		{"stopped by a signal", 36 * time.Hour, []string{"reminder 1", "done, said ann"}, 36 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tst := tester.NewWorkflowTester[[]string](Remind, tester.WithTB(t), tester.WithStartTime(start))
			if tt.doneAt > 0 {
				tst.ScheduleCallback(tt.doneAt, func() { tst.SignalWorkflow("done", "ann") })
			}
			tst.Execute(24*time.Hour, 3)

			require.True(t, tst.WorkflowFinished())
			res, err := tst.WorkflowResult()
			require.NoError(t, err)
			assert.Equal(t, tt.want, res)
			assert.Equal(t, tt.endedAt, tst.Now().Sub(start))
		})
	}
}
