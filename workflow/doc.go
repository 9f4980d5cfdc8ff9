// Package workflow is the API workflow code is written against.
//
// A workflow is a plain Go function, func(ctx workflow.Context, args...)
// error or (T, error), that a worker runs deterministically: its progress is
// recorded as an event history, and after a crash or on another worker the
// function is run again from the start while the history answers every call
// that already happened ("replay"). For that to work, workflow code must
// produce the same calls in the same order given the same history:
//
//   - do side-effecting or slow work in activities (ExecuteActivity), not in
//     the workflow function; short work may run as a local activity
//     (ExecuteLocalActivity), inside the workflow task;
//   - use Now, Sleep and ScheduleTimer instead of time.Now and time.Sleep;
//   - use Go, Channel, Select and WaitGroup instead of the go statement,
//     Go channels, select and sync;
//   - use SideEffect for anything random (IDs, random numbers);
//   - guard changes to running workflows with GetVersion.
//
// Workflow code runs as coroutines: one at a time, switching only inside
// calls of this package. Code that blocks anywhere else (a Go channel, a
// mutex, time.Sleep, I/O) is reported by the worker after a timeout rather
// than hanging it.
package workflow
