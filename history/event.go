// Package history defines the events that make up a workflow run's history
// and their wire encoding.
//
// A run's history is a sequence of commits; each commit holds the inbound
// events one workflow task consumed followed by the events it produced. The
// worker stores commits in JetStream (see package streams); the engine
// replays them. Both sides agree on the types here and on nothing else.
//
// The encoding is versioned: every encoded commit or event starts with a
// format byte, so histories written today stay readable after the format
// grows. Fields are encoded by short names and omitted when empty, so a field
// added later reads as its zero value from an old history.
package history

import (
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Kind says what an event records. The numbers are part of the stored format:
// never reuse or renumber one; add new kinds at the end.
type Kind uint8

// The kinds of event. "Inbound" kinds arrive through a run's inbox from
// outside the workflow task; the others are produced by the workflow task.
const (
	KindInvalid Kind = 0

	// Inbound.
	WorkflowStarted      Kind = 1  // Name, Queue, Args, Parent, ContinuedExecutionID
	ActivityCompleted    Kind = 2  // ScheduleID, Result
	ActivityFailed       Kind = 3  // ScheduleID, Failure
	TimerFired           Kind = 4  // ScheduleID
	SignalReceived       Kind = 5  // Name, Args[0]
	SubWorkflowCompleted Kind = 6  // ScheduleID, Result
	SubWorkflowFailed    Kind = 7  // ScheduleID, Failure
	SignalDelivered      Kind = 8  // ScheduleID; Failure when the target does not exist
	CancelRequested      Kind = 9  // (no fields)
	TerminateRequested   Kind = 10 // Reason
	// UpdateRequested is an update as a client sent it to the inbox
	// (Name, Args, UpdateID). It is never stored: the workflow task runs
	// the update's validator, and an accepted update is stored as
	// UpdateAccepted, a rejected one not at all.
	UpdateRequested Kind = 11 // Name, Args, UpdateID
	// UpdateAccepted is an update the run accepted; its handler starts
	// when the event is applied (also on replay).
	UpdateAccepted Kind = 12 // Name, Args, UpdateID
	// WorkflowTimeoutFired ends a run whose run or execution timeout
	// passed (RunOptions); delivered by a message schedule.
	WorkflowTimeoutFired Kind = 15 // Failure (Type Timeout)

	// Produced by a workflow task.
	ActivityScheduled          Kind = 20 // Name, Queue, Args, Activity
	ActivityCancelRequested    Kind = 21 // ScheduleID
	TimerScheduled             Kind = 22 // FireAt
	TimerCanceled              Kind = 23 // ScheduleID
	SideEffectRecorded         Kind = 24 // Result, or Failure if the result could not be recorded
	SubWorkflowScheduled       Kind = 25 // Name, Queue, InstanceID, Args
	SubWorkflowCancelRequested Kind = 26 // ScheduleID
	SignalWorkflowScheduled    Kind = 27 // InstanceID, Name, Args[0]
	VersionMarker              Kind = 28 // Name (the change ID), Version
	WorkflowCompleted          Kind = 29 // Result
	WorkflowFailed             Kind = 30 // Failure
	WorkflowCanceled           Kind = 31 // (no fields)
	WorkflowContinuedAsNew     Kind = 32 // Args
	WorkflowTerminated         Kind = 33 // Reason
	// UpdateCompleted is an update handler's return: Result, or Failure
	// for the error it returned.
	UpdateCompleted Kind = 34 // Name, UpdateID, ScheduleID (the UpdateAccepted), Result or Failure
	// SearchAttributesUpserted is workflow.UpsertSearchAttributes: the
	// pairs to set (an empty value removes its key), applied to the
	// instance's registry record when the task commits.
	SearchAttributesUpserted Kind = 40 // SearchAttributes
	// LocalActivityCompleted and LocalActivityFailed record a local
	// activity (workflow.ExecuteLocalActivity): run by the workflow
	// worker inside the task, its outcome is this one event, committed
	// with the task; replay takes it instead of running the function.
	// A failure with Local.RetryAfter set is not final: a timer is
	// scheduled next, and the attempt after it is a new local activity.
	LocalActivityCompleted Kind = 45 // Name, Result, Local
	LocalActivityFailed    Kind = 46 // Name, Failure, Local
)

var kindNames = map[Kind]string{
	WorkflowStarted:            "WorkflowStarted",
	ActivityCompleted:          "ActivityCompleted",
	ActivityFailed:             "ActivityFailed",
	TimerFired:                 "TimerFired",
	SignalReceived:             "SignalReceived",
	SubWorkflowCompleted:       "SubWorkflowCompleted",
	SubWorkflowFailed:          "SubWorkflowFailed",
	SignalDelivered:            "SignalDelivered",
	CancelRequested:            "CancelRequested",
	TerminateRequested:         "TerminateRequested",
	UpdateRequested:            "UpdateRequested",
	UpdateAccepted:             "UpdateAccepted",
	WorkflowTimeoutFired:       "WorkflowTimeoutFired",
	ActivityScheduled:          "ActivityScheduled",
	ActivityCancelRequested:    "ActivityCancelRequested",
	TimerScheduled:             "TimerScheduled",
	TimerCanceled:              "TimerCanceled",
	SideEffectRecorded:         "SideEffectRecorded",
	SubWorkflowScheduled:       "SubWorkflowScheduled",
	SubWorkflowCancelRequested: "SubWorkflowCancelRequested",
	SignalWorkflowScheduled:    "SignalWorkflowScheduled",
	VersionMarker:              "VersionMarker",
	WorkflowCompleted:          "WorkflowCompleted",
	WorkflowFailed:             "WorkflowFailed",
	WorkflowCanceled:           "WorkflowCanceled",
	WorkflowContinuedAsNew:     "WorkflowContinuedAsNew",
	WorkflowTerminated:         "WorkflowTerminated",
	UpdateCompleted:            "UpdateCompleted",
	SearchAttributesUpserted:   "SearchAttributesUpserted",
	LocalActivityCompleted:     "LocalActivityCompleted",
	LocalActivityFailed:        "LocalActivityFailed",
}

var kindsByName = func() map[string]Kind {
	m := make(map[string]Kind, len(kindNames))
	for k, n := range kindNames {
		m[n] = k
	}
	return m
}()

// String returns the kind's name, or "Kind(N)" for a number this version
// does not know.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is a kind this version knows.
func (k Kind) Valid() bool {
	_, ok := kindNames[k]
	return ok
}

// Inbound reports whether events of this kind arrive through the inbox (as
// opposed to being produced by a workflow task).
// The numbers 1..19 are kept for inbound kinds.
func (k Kind) Inbound() bool { return k >= WorkflowStarted && k <= 19 }

// Final reports whether an event of this kind ends a run.
func (k Kind) Final() bool { return k >= WorkflowCompleted && k <= WorkflowTerminated }

// MarshalText writes the kind's name, so JSON histories are readable. A
// kind this version does not know (from a newer one) is written as
// "Kind(N)", so one such event does not make a whole history unreadable.
func (k Kind) MarshalText() ([]byte, error) {
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind as written by MarshalText: a name, or
// "Kind(N)".
func (k *Kind) UnmarshalText(b []byte) error {
	if v, ok := kindsByName[string(b)]; ok {
		*k = v
		return nil
	}
	var n uint8
	if _, err := fmt.Sscanf(string(b), "Kind(%d)", &n); err == nil && fmt.Sprintf("Kind(%d)", n) == string(b) {
		*k = Kind(n)
		return nil
	}
	return fmt.Errorf("history: unknown event kind %q", b)
}

// Event is one thing that happened to a run. Which fields are set depends on
// Kind (see the comments on the kinds); the rest are zero.
//
// Payloads (Args, Result) are already encoded by the workflow's converter:
// this package moves bytes and never interprets them.
type Event struct {
	Kind Kind `msgpack:"k" json:"kind"`
	// ID is the event's position in its run, from 1, assigned by the
	// workflow task that commits it. It is stable across replays.
	ID int64 `msgpack:"i,omitempty" json:"id,omitempty"`
	// ScheduleID names the event that scheduled the command this event
	// answers or cancels (an ActivityScheduled, TimerScheduled, ...).
	ScheduleID int64 `msgpack:"s,omitempty" json:"schedule_id,omitempty"`
	// Time is when the event happened, by the clock of whoever made it.
	Time time.Time `msgpack:"t" json:"time"`
	// InboxID is the message ID an inbound event arrived with; a worker
	// uses it to recognise a redelivered message whose event is already
	// committed.
	InboxID string `msgpack:"m,omitempty" json:"inbox_id,omitempty"`
	// ExecutionID is the run an inbound event is meant for; empty means the
	// instance's current run (signals, cancel and terminate requests).
	ExecutionID string `msgpack:"x,omitempty" json:"execution_id,omitempty"`

	Name       string    `msgpack:"n,omitempty" json:"name,omitempty"`
	Queue      string    `msgpack:"q,omitempty" json:"queue,omitempty"`
	InstanceID string    `msgpack:"in,omitempty" json:"instance_id,omitempty"`
	Args       [][]byte  `msgpack:"a,omitempty" json:"args,omitempty"`
	Result     []byte    `msgpack:"r,omitempty" json:"result,omitempty"`
	Failure    *Failure  `msgpack:"f,omitempty" json:"failure,omitempty"`
	FireAt     time.Time `msgpack:"at,omitempty" json:"fire_at,omitzero"`
	Version    int       `msgpack:"v,omitempty" json:"version,omitempty"`
	Reason     string    `msgpack:"re,omitempty" json:"reason,omitempty"`

	// Activity holds the options of an ActivityScheduled event.
	Activity *ActivityOptions `msgpack:"ao,omitempty" json:"activity,omitempty"`
	// Parent names the parent of a sub-workflow's run (WorkflowStarted).
	Parent *Parent `msgpack:"p,omitempty" json:"parent,omitempty"`
	// ContinuedExecutionID names the run a continued-as-new run follows
	// (WorkflowStarted).
	ContinuedExecutionID string `msgpack:"cx,omitempty" json:"continued_execution_id,omitempty"`
	// ParentClose is what happens to a sub-workflow when its parent's run
	// ends before it (SubWorkflowScheduled): ParentCloseTerminate (0),
	// ParentCloseCancel or ParentCloseAbandon.
	ParentClose ParentClosePolicy `msgpack:"pc,omitempty" json:"parent_close,omitempty"`
	// UpdateID names an update (UpdateRequested, UpdateAccepted,
	// UpdateCompleted): a run applies each update ID once.
	UpdateID string `msgpack:"upd,omitempty" json:"update_id,omitempty"`
	// Trace is the W3C trace context of the work that caused the event,
	// when tracing is on: a WorkflowStarted carries its starter's (so
	// every task of the run joins that trace, on any worker), a
	// SignalReceived its sender's, and the commands a task issues
	// (ActivityScheduled, SubWorkflowScheduled) the task's span.
	Trace *TraceContext `msgpack:"tc,omitempty" json:"trace,omitempty"`
	// Run holds a run's timeouts and retry policy (WorkflowStarted, and
	// SubWorkflowScheduled for the child's).
	Run *RunOptions `msgpack:"tlrun,omitempty" json:"run_options,omitempty"`
	// Memo holds an instance's memo (WorkflowStarted, and
	// SubWorkflowScheduled for the child's): non-indexed values shown in
	// describe, each encoded by the converter.
	Memo map[string][]byte `msgpack:"tlmemo,omitempty" json:"memo,omitempty"`
	// Header carries context values across processes (ContextPropagator):
	// on WorkflowStarted, ActivityScheduled and SubWorkflowScheduled.
	Header map[string][]byte `msgpack:"tlhdr,omitempty" json:"header,omitempty"`
	// SearchAttributes are the pairs of a SearchAttributesUpserted.
	SearchAttributes map[string]string `msgpack:"sa,omitempty" json:"search_attributes,omitempty"`
	// Local describes the call a LocalActivityCompleted or
	// LocalActivityFailed records.
	Local *LocalActivity `msgpack:"la,omitempty" json:"local_activity,omitempty"`
}

// LocalActivity is what a local activity's event records besides its
// outcome.
type LocalActivity struct {
	// Seq numbers the run's local activity calls from 1, in the order
	// the workflow code made them (a retry after a timer is a new call):
	// replay matches the event to the call by it, so calls running side
	// by side may end in any order.
	Seq int64 `msgpack:"sq" json:"seq"`
	// Attempt is the last attempt run, from 1.
	Attempt int `msgpack:"at,omitempty" json:"attempt,omitempty"`
	// RetryAfter, on a failure, is the backoff before the next attempt,
	// too long to wait for inside a task: the workflow waits for it with
	// a timer. Zero on a final failure.
	RetryAfter time.Duration `msgpack:"ra,omitempty" json:"retry_after,omitempty"`
}

// TraceContext is a W3C trace context (https://www.w3.org/TR/trace-context/)
// as stored in events and tasks: the traceparent and tracestate header
// values.
type TraceContext struct {
	Parent string `msgpack:"p" json:"traceparent"`
	State  string `msgpack:"s,omitempty" json:"tracestate,omitempty"`
}

// RunOptions are the timeouts and the retry policy of a workflow's runs.
type RunOptions struct {
	// ExecutionTimeout bounds the instance's runs together, across
	// continue-as-new and retries; RunTimeout bounds one run.
	ExecutionTimeout time.Duration `msgpack:"et,omitempty" json:"execution_timeout,omitempty"`
	RunTimeout       time.Duration `msgpack:"rt,omitempty" json:"run_timeout,omitempty"`
	// ExecutionDeadline is when ExecutionTimeout ends the instance, fixed
	// when its first run starts (WorkflowStarted only).
	ExecutionDeadline time.Time `msgpack:"ed,omitempty" json:"execution_deadline,omitzero"`
	// Retry, when set, starts a failed run again; only its retry fields
	// (MaxAttempts … RetryTimeout) are used.
	Retry *ActivityOptions `msgpack:"rp,omitempty" json:"retry,omitempty"`
	// Attempt is the run's attempt under Retry, from 1 (0 counts as 1),
	// and FirstAttemptAt the start of attempt 1 (WorkflowStarted only).
	Attempt        int       `msgpack:"at,omitempty" json:"attempt,omitempty"`
	FirstAttemptAt time.Time `msgpack:"fa,omitempty" json:"first_attempt_at,omitzero"`
	// StartDelay is how long after the event's Time the run starts (a
	// delayed start; WorkflowStarted of a first run only): its inbox
	// receives the event then, and the run's clock starts then.
	StartDelay time.Duration `msgpack:"sd,omitempty" json:"start_delay,omitempty"`
}

// StartTime is when the run a WorkflowStarted event begins starts: its
// Time, plus a delayed start's delay.
func (e *Event) StartTime() time.Time {
	if e.Run == nil {
		return e.Time
	}
	return e.Time.Add(e.Run.StartDelay)
}

// Deadline is when a run started at start must end: the earlier of its
// RunTimeout and the ExecutionDeadline; zero for none. execution reports
// that the ExecutionDeadline is the one that ends it.
func (o *RunOptions) Deadline(start time.Time) (at time.Time, execution bool) {
	if o == nil {
		return time.Time{}, false
	}
	if o.RunTimeout > 0 {
		at = start.Add(o.RunTimeout)
	}
	if !o.ExecutionDeadline.IsZero() && (at.IsZero() || !o.ExecutionDeadline.After(at)) {
		return o.ExecutionDeadline, true
	}
	return at, false
}

// Empty reports whether o sets nothing.
func (o *RunOptions) Empty() bool { return o == nil || *o == (RunOptions{}) }

// ParentClosePolicy is what happens to a sub-workflow still running when
// its parent's run ends (for any reason but a continue-as-new). Package
// workflow gives it to workflow authors.
type ParentClosePolicy uint8

// The parent-close policies; the zero value terminates, as in Temporal.
const (
	ParentCloseTerminate ParentClosePolicy = iota
	ParentCloseCancel
	ParentCloseAbandon
)

// Failure is an error as it is stored: enough to rebuild a typed error on
// the other side.
type Failure struct {
	// Type classifies the error: the type given to workflow.NewError,
	// one of jetflow's own (the workflow.ErrType constants), or the name
	// of the error's own Go type.
	Type    string `msgpack:"t,omitempty" json:"type,omitempty"`
	Message string `msgpack:"m" json:"message"`
	// Stack is set for panics.
	Stack string `msgpack:"st,omitempty" json:"stack,omitempty"`
	// NonRetryable marks an error that must not be retried.
	NonRetryable bool `msgpack:"nr,omitempty" json:"non_retryable,omitempty"`
}

// Error makes a Failure usable as an error value.
func (f *Failure) Error() string {
	if f.Type == "" {
		return f.Message
	}
	return f.Type + ": " + f.Message
}

// ActivityOptions are the options an activity was scheduled with, in their
// stored form. MaxAttempts 0 is one attempt (what histories written before
// retries became the default hold); UnlimitedAttempts is no limit.
type ActivityOptions struct {
	MaxAttempts         int           `msgpack:"ma,omitempty" json:"max_attempts,omitempty"`
	FirstRetryInterval  time.Duration `msgpack:"fi,omitempty" json:"first_retry_interval,omitempty"`
	MaxRetryInterval    time.Duration `msgpack:"mi,omitempty" json:"max_retry_interval,omitempty"`
	BackoffCoefficient  float64       `msgpack:"bc,omitempty" json:"backoff_coefficient,omitempty"`
	RetryTimeout        time.Duration `msgpack:"rt,omitempty" json:"retry_timeout,omitempty"`
	StartToClose        time.Duration `msgpack:"sc,omitempty" json:"start_to_close,omitempty"`
	ScheduleToClose     time.Duration `msgpack:"stc,omitempty" json:"schedule_to_close,omitempty"`
	Heartbeat           time.Duration `msgpack:"hb,omitempty" json:"heartbeat,omitempty"`
	WaitForCancellation bool          `msgpack:"wc,omitempty" json:"wait_for_cancellation,omitempty"`
}

// UnlimitedAttempts as a stored MaxAttempts means no limit on attempts:
// the activity's timeouts end its retries.
const UnlimitedAttempts = -1

// Parent identifies the parent run of a sub-workflow and the event in it
// that scheduled the child.
type Parent struct {
	InstanceID  string `msgpack:"i" json:"instance_id"`
	ExecutionID string `msgpack:"x" json:"execution_id"`
	Queue       string `msgpack:"q,omitempty" json:"queue,omitempty"`
	ScheduleID  int64  `msgpack:"s" json:"schedule_id"`
}

// Commit is one message of a run's history: the events one workflow task
// consumed and produced, in order.
type Commit struct {
	// ID identifies the commit so a worker can recognise its own commit
	// after an ambiguous publish.
	ID     string  `msgpack:"id,omitempty" json:"id,omitempty"`
	Events []Event `msgpack:"e" json:"events"`
}

// EncodeMsgpack stores a kind as its number. Without it msgpack would use
// MarshalText and store the name, which is larger.
func (k Kind) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.EncodeUint8(uint8(k)) }

// DecodeMsgpack reads a kind stored by EncodeMsgpack.
func (k *Kind) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeUint8()
	if err != nil {
		return err
	}
	*k = Kind(v)
	return nil
}
