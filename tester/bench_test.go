package tester_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/tester"
)

// BenchmarkThirtyDaySleep is one whole test of a workflow that sleeps for
// 30 days: what a unit test of it costs in wall time.
func BenchmarkThirtyDaySleep(b *testing.B) {
	for b.Loop() {
		tst := tester.NewWorkflowTester[time.Time](Sleeper, tester.WithTB(b), tester.WithStartTime(epoch))
		tst.Execute(30 * 24 * time.Hour)
		if !tst.WorkflowFinished() {
			b.Fatal("not finished")
		}
	}
}

// BenchmarkMockedActivities is one whole test of Workflow1 (the API
// contract's example: a mocked activity, a real one, a mocked
// sub-workflow and a signal an hour in).
func BenchmarkMockedActivities(b *testing.B) {
	for b.Loop() {
		tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(b))
		tst.OnActivity(Activity1, mock.Anything, 35, 12).Return(47, nil)
		tst.OnSubWorkflow(SubWorkflow, mock.Anything, "in").Return(3, nil)
		tst.RegisterActivity(RealActivity)
		tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", "ann") })
		tst.Execute("Hello world")
		if _, err := tst.WorkflowResult(); err != nil {
			b.Fatal(err)
		}
	}
}
