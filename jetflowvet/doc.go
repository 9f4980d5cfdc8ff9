// Package jetflowvet is a go/analysis analyzer that reports
// non-deterministic code in jetflow workflow functions: code that would do
// something different when the workflow is replayed from its history.
//
// Workflow code is a function or function literal whose first parameter is
// a workflow.Context, and a function of the package registered with a
// worker or tester, or started with CreateWorkflowInstance,
// SignalWithStartWorkflow, CreateSubWorkflowInstance or a schedule. The
// analyzer reports what such code does itself, and every static call it
// makes to a function that is non-deterministic further down, with the
// call chain ("calls helper.F → helper.g → time.Now"). Functions of other
// packages carry a [NonDeterministic] fact, so chains cross packages.
//
// Calls through interfaces and function values are not followed, nor are
// calls into versioned modules (dependencies) or into jetflow's own
// packages (the runtime is deterministic by design); only the listed
// standard library calls are reported there.
//
// The command is cmd/jetflowvet; [New] is the entry point of a golangci-lint
// plugin. docs/jetflowvet.md lists the rules.
package jetflowvet
