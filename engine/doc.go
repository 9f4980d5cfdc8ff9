// Package engine is jetflow's deterministic runtime: it runs workflow code
// (package workflow) as coroutines and turns a run's events into calls into
// that code and the code's calls into new events. It knows nothing of NATS:
// the worker reads and commits histories and feeds the executor.
//
// # Events in, events out
//
// A run's history (package history) is a sequence of commits, one per
// workflow task. Each commit holds the inbound events the task consumed
// (WorkflowStarted, ActivityCompleted, TimerFired, SignalReceived, ...),
// each followed by the events the workflow code produced in reaction
// (ActivityScheduled, TimerScheduled, ..., and finally WorkflowCompleted or
// another final event). Event IDs are positions in the run, from 1; a
// command canceled before its task commits is dropped from the commit but
// keeps its ID, so the history's IDs may skip it (see Executor).
//
// An Executor holds one run in memory. Replay feeds it committed events
// and checks that the code issues the same commands again (a mismatch is a
// *NondeterminismError); Execute feeds it new inbound events and returns the
// events to commit. A warm executor (kept in a cache between tasks) costs
// only the new events of a task: commands are found by ID in a map, nothing
// scans the history.
//
// # Driving it from a worker
//
//	ex, err := engine.NewExecutor(engine.Options{
//		InstanceID: inst, ExecutionID: run,
//		Registry:   workflows,            // engine.Workflows or the worker's own Registry
//		Logger:     logger,
//	})
//	// Cold start (or after a cache miss): replay all committed commits.
//	err = ex.Replay(committedEvents)      // events of all commits, in order
//	// Per task: commits the executor has not seen (if another worker moved
//	// the run on), then the new inbound events from the inbox.
//	err = ex.Replay(unseenEvents)         // events it already has are skipped
//	out, err := ex.Execute(inboxEvents)
//	// Commit out as one commit. If the commit fails (conflict), or any
//	// call returned an error, Close the executor and build a fresh one.
//	// errors.As(err, new(*engine.NondeterminismError)) or a
//	// *engine.BlockedError: retry the task later, do not fail the run.
//	if final, done := ex.Final(); done { /* the run ended with final */ }
//	res, err := ex.Query("status", args) // between tasks; changes nothing
//	ex.Close()                            // when evicting: frees its goroutines
//
// Execute drops inbound events that were already applied (same InboxID),
// answers to commands no longer pending (already answered, or a canceled
// timer), events for another run, and anything after the final event, so a
// worker may hand it redelivered messages; all the messages of a task can be
// acked once its commit is stored. Execute on a finished run returns
// ErrRunFinished.
//
// After a final event (WorkflowCompleted, WorkflowFailed, WorkflowCanceled,
// WorkflowContinuedAsNew, WorkflowTerminated) the run is over; its executor
// can still answer queries. For WorkflowContinuedAsNew the worker starts the
// next run with the event's Args.
//
// # Time, cancellation and failures
//
// workflow.Now is the time of the event being processed (never earlier than
// a previous one), so it is the same on replay; TimerScheduled.FireAt is
// that time plus the duration. CancelRequested cancels the run's root
// context; a workflow that then returns workflow.Canceled ends with
// WorkflowCanceled. A timer, activity, sub-workflow or signal whose context
// is canceled in the task that issued it is dropped: never recorded, sent
// or started, and its future fails with workflow.Canceled at once. A panic
// in workflow code ends the run with WorkflowFailed carrying a
// workflow.PanicError (workflow.ErrTypePanic) and its
// stack. Code that blocks outside the workflow API for longer than
// Options.BlockedTimeout makes Execute return a *BlockedError instead of
// hanging. FailureFromError and ErrorFromFailure convert errors to their
// stored form and back; the worker and client use them for activity and
// workflow errors too.
//
// # Naming and registration
//
// The executor finds workflow functions through a Registry
// (internal/registry's, shared with the worker and the tester, names and
// checks them) and encodes arguments and results with the backend's
// converter (package converter; msgpack by default) through internal/call.
//
// # For test drivers
//
// Pending lists the commands waiting for answers (with FireAt for timers),
// Now the run's time and HistoryLength its length, so an in-memory driver
// can decide what to answer next and build the inbound events itself.
package engine
