package workflow

import (
	"log/slog"
)

// Instance names a workflow instance and one run (execution) of it.
type Instance struct {
	InstanceID  string
	ExecutionID string
}

// Info describes the running workflow.
type Info struct {
	// InstanceID and ExecutionID name the instance and this run.
	InstanceID  string
	ExecutionID string
	// ContinuedExecutionID is the run this one continues (ContinueAsNew),
	// or empty.
	ContinuedExecutionID string
	// WorkflowName is the registered name of the workflow.
	WorkflowName string
	// Queue is the run's queue.
	Queue string
	// HistoryLength is the number of events in the run's history so far.
	HistoryLength int64
	// Parent is the run that started this one as a sub-workflow, or nil.
	Parent *Instance
	// Attempt is this run's attempt under the workflow's retry policy
	// (SubWorkflowOptions.RetryOptions), from 1.
	Attempt int
}

// GetInfo describes the running workflow.
func GetInfo(ctx Context) Info {
	i := envOf(ctx).Info()
	info := Info{
		InstanceID:           i.InstanceID,
		ExecutionID:          i.ExecutionID,
		ContinuedExecutionID: i.ContinuedExecutionID,
		WorkflowName:         i.WorkflowName,
		Queue:                i.Queue,
		HistoryLength:        i.HistoryLength,
		Attempt:              i.Attempt,
	}
	if i.Parent != nil {
		info.Parent = &Instance{InstanceID: i.Parent.InstanceID, ExecutionID: i.Parent.ExecutionID}
	}
	return info
}

// Logger returns the run's logger: it adds the instance and execution IDs
// and the workflow's name (the attributes instance_id, execution_id and
// workflow) and says nothing while the run is replaying, so each line is
// written once.
func Logger(ctx Context) *slog.Logger { return envOf(ctx).Logger() }

// Replaying reports whether the workflow is replaying events from its
// history (as opposed to processing new ones).
func Replaying(ctx Context) bool { return envOf(ctx).Replaying() }
