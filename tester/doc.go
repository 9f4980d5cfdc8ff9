// Package tester unit-tests workflows and activities without NATS, in
// milliseconds, with time under the test's control.
//
// A WorkflowTester runs a workflow on the engine's real executor, in
// memory. Activities and sub-workflows are mocked with testify's mock
// package or registered to run for real; timers, activity retries and the
// test's own callbacks are due on a mock clock that jumps straight to the
// next one whenever the workflow waits, so a workflow that sleeps for 30
// days finishes its test at once:
//
//	tst := tester.NewWorkflowTester[int](Workflow1, tester.WithTB(t))
//	tst.OnActivity(Activity1, mock.Anything, 35, 12).Return(47, nil)
//	tst.OnSubWorkflow(SubWorkflow, mock.Anything, "in").Return(3, nil)
//	tst.RegisterActivity(RealActivity)
//	tst.ScheduleCallback(time.Hour, func() { tst.SignalWorkflow("approve", "ann") })
//	tst.Execute("Hello world")
//	require.True(t, tst.WorkflowFinished())
//	res, err := tst.WorkflowResult()
//	tst.AssertExpectations(t)
//
// The tester plays the worker's part the way the worker does: activities
// are retried with the backoff of their retry policy (in mock time), their
// StartToClose, ScheduleToClose and heartbeat timeouts end an attempt with
// the same workflow.ErrTypeTimeout error, a panic becomes a *workflow.PanicError, and
// errors reach the workflow as they would through a history. So a test
// tells the truth about production.
//
// # Time
//
// The mock clock starts at WithStartTime (default: the wall clock). Inbound
// events carry the mock time, so workflow.Now is the mock time. When every
// coroutine of every run waits and no activity runs, the clock jumps to
// whatever is due next: a timer, an activity retry, a callback. Mocked
// activities take no mock time. Registered activities (and mocks that
// return a function) run in wall time, and while one runs, mock time
// follows the wall clock, so a timer racing a slow activity fires when it
// would in production. WithTestTimeout bounds the wall time of Execute.
//
// # Failures of the test
//
// An activity or sub-workflow that nothing expects, a test timeout, workflow
// code that blocks outside the workflow API, or a broken setup is a failure
// of the test rather than of the workflow: Execute reports it through the
// testing.TB given to WithTB (or panics), naming the call and its
// arguments, and Err returns it.
//
// # Activities
//
// ActivityEnv unit-tests an activity on its own: it gives it the context a
// worker would (so activity.Logger, activity.Attempt, activity.GetInfo and
// activity.RecordHeartbeat work) and records its heartbeats.
package tester
