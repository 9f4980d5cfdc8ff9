// Package logkey names the attributes of jetflow's log records, so the
// worker, the engine, the client, the tester, the backend and the tools
// all write the same key for the same thing and one query finds a run's
// lines whichever part wrote them. The names are snake_case, as
// workflow.Logger and activity.Logger document (instance_id,
// execution_id). A detail only one message has keeps a literal key.
package logkey

const (
	// Instance is the workflow instance ID.
	Instance = "instance_id"
	// Execution is the run (execution) ID.
	Execution = "execution_id"
	// Workflow is a workflow's registered name.
	Workflow = "workflow"
	// Activity is an activity's registered name.
	Activity = "activity"
	// Attempt is an activity's attempt number (from 1), or a retry count.
	Attempt = "attempt"
	// Queue is a task queue.
	Queue = "queue"
	// Signal is a signal's name.
	Signal = "signal"
	// Namespace is the backend's namespace.
	Namespace = "namespace"
	// Component names the part of jetflow that logs (client, diag, ...).
	Component = "component"
	// Subject is a NATS subject.
	Subject = "subject"
	// Kind is a history event's kind.
	Kind = "kind"
	// RetryIn is the delay before the next try.
	RetryIn = "retry_in"
	// Err is the error.
	Err = "err"
	// KeyID is the ID of an encryption key a payload needs (codec).
	KeyID = "key_id"
	// TraceID and SpanID are the OpenTelemetry trace and span of the work
	// a workflow.Logger or activity.Logger record comes from (hex).
	TraceID = "trace_id"
	SpanID  = "span_id"
)
