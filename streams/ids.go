package streams

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// The IDs of the protocol between clients and workers, all built here: the
// InboxID of every event put into an instance's inbox (it is the message's
// Nats-Msg-Id, so a republished event is stored once), and the execution
// IDs that workers derive. docs/architecture.md lists them in a table.

// StartInboxID is the InboxID of a run's WorkflowStarted event.
func StartInboxID(executionID string) string { return "start:" + executionID }

// CancelInboxID is the InboxID of the CancelRequested event of a run.
func CancelInboxID(executionID string) string { return "cancel:" + executionID }

// TerminateInboxID is the InboxID of the TerminateRequested event of a run.
func TerminateInboxID(executionID string) string { return "terminate:" + executionID }

// ClientSignalInboxID is the InboxID of a signal a client sends, for a
// signal ID unique to the send.
func ClientSignalInboxID(signalID string) string { return "sig:" + signalID }

// CallerSignalInboxID is the InboxID of a signal a client sends to an
// instance with an ID its caller chose (client.SignalOptions.SignalID),
// so that the caller's retries deliver it once. Its prefix is its own: a
// caller's ID never collides with the IDs jetflow makes. The instance is
// part of it because the InboxID is the stream-wide message ID: the same
// caller ID sent to two instances is two signals. The instance's length
// leads so that no pair of instance and signal ID reads as another.
func CallerSignalInboxID(instanceID, signalID string) string {
	return "sigid:" + strconv.Itoa(len(instanceID)) + ":" + instanceID + ":" + signalID
}

// WorkflowSignalInboxID is the InboxID of a signal a workflow sends to
// another instance, named by the sender's SignalWorkflowScheduled event.
func WorkflowSignalInboxID(instanceID, executionID string, scheduleID int64) string {
	return eventKey("sig", instanceID, executionID, scheduleID)
}

// SignalDeliveredInboxID is the InboxID of the SignalDelivered event that
// answers a workflow's SignalWorkflowScheduled event.
func SignalDeliveredInboxID(instanceID, executionID string, scheduleID int64) string {
	return eventKey("sigack", instanceID, executionID, scheduleID)
}

// ActivityResultInboxID is the InboxID of the ActivityCompleted or
// ActivityFailed event that answers an ActivityScheduled event.
func ActivityResultInboxID(instanceID, executionID string, scheduleID int64) string {
	return eventKey("act", instanceID, executionID, scheduleID)
}

// ChildResultInboxID is the InboxID of the SubWorkflowCompleted or
// SubWorkflowFailed event that answers a parent's SubWorkflowScheduled
// event.
func ChildResultInboxID(parentInstanceID, parentExecutionID string, scheduleID int64) string {
	return eventKey("child", parentInstanceID, parentExecutionID, scheduleID)
}

// TimerInboxID is the InboxID of the TimerFired event of a timer.
func TimerInboxID(instanceID, executionID string, timerID int64) string {
	return eventKey("t", instanceID, executionID, timerID)
}

// activityMsgID names an activity task for deduplication: a republished
// task of the same event is stored once.
func activityMsgID(t *ActivityTask) string {
	return eventKey("a", t.InstanceID, t.ExecutionID, t.ScheduleID)
}

// ForwardedInboxID is the InboxID of an event forwarded to run, the next
// run of the one it was sent to: the ID of the event as first sent,
// prefixed with the run it is forwarded to, so it stays unique and short
// along a chain of continued runs.
func ForwardedInboxID(run, inboxID string) string {
	if rest, ok := strings.CutPrefix(inboxID, "fwd:"); ok {
		if _, root, ok := strings.Cut(rest, "|"); ok {
			inboxID = root
		}
	}
	return "fwd:" + run + "|" + inboxID
}

func eventKey(prefix, inst, run string, id int64) string {
	return prefix + ":" + inst + ":" + run + ":" + strconv.FormatInt(id, 10)
}

// runIDSpace is the UUID namespace of the run IDs workers derive. Derived
// IDs are deterministic, so a side effect republished after a crash names
// the same run as the first publish did.
var runIDSpace = uuid.MustParse("6c1f3b0e-8a7d-4f53-9a39-2f0d8c5b9e41")

// ChildRunID is the execution ID of the child started by a parent run's
// SubWorkflowScheduled event.
func ChildRunID(parentRun string, scheduleID int64) string {
	return uuid.NewSHA1(runIDSpace, []byte(parentRun+"/child/"+strconv.FormatInt(scheduleID, 10))).String()
}

// ContinuedRunID is the execution ID of the run that follows a run which
// continued as new.
func ContinuedRunID(run string) string {
	return uuid.NewSHA1(runIDSpace, []byte(run+"/continued")).String()
}

// RetriedRunID is the execution ID of the run that retries a failed run
// (a workflow's retry policy).
func RetriedRunID(run string) string {
	return uuid.NewSHA1(runIDSpace, []byte(run+"/retry")).String()
}

// DeadlineInboxID is the InboxID of the WorkflowTimeoutFired event of a
// run.
func DeadlineInboxID(executionID string) string { return "deadline:" + executionID }

// NewID returns a new random (version 4) UUID: the ID of a run a client
// starts, of an instance started without one, of a signal.
func NewID() string { return uuid.NewString() }
