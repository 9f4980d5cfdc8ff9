package worker

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// runIDSpace is the UUID namespace of the run IDs workers derive. Derived
// IDs are deterministic, so a side effect republished after a crash names
// the same run as the first publish did.
var runIDSpace = uuid.MustParse("6c1f3b0e-8a7d-4f53-9a39-2f0d8c5b9e41")

// childRunID is the execution ID of the child started by a parent run's
// SubWorkflowScheduled event.
func childRunID(parentRun string, scheduleID int64) string {
	return uuid.NewSHA1(runIDSpace, []byte(parentRun+"/child/"+strconv.FormatInt(scheduleID, 10))).String()
}

// continuedRunID is the execution ID of the run that follows a run which
// continued as new.
func continuedRunID(run string) string {
	return uuid.NewSHA1(runIDSpace, []byte(run+"/continued")).String()
}

// forwardedInboxID is the message ID of a signal forwarded to run: the ID
// of the signal as first sent, prefixed with the run it is forwarded to,
// so it stays unique and short along a chain of continued runs.
func forwardedInboxID(run, inboxID string) string {
	if rest, ok := strings.CutPrefix(inboxID, "fwd:"); ok {
		if _, root, ok := strings.Cut(rest, "|"); ok {
			inboxID = root
		}
	}
	return "fwd:" + run + "|" + inboxID
}

// Inbox message IDs, as docs/architecture.md lists them.
func eventKey(prefix, inst, run string, id int64) string {
	return prefix + ":" + inst + ":" + run + ":" + strconv.FormatInt(id, 10)
}

// backoff is the delay before retry number n (1 for the first retry) of a
// failed workflow task: first, doubled each time, at most a minute.
func backoff(first time.Duration, n uint64) time.Duration {
	d := first
	for i := uint64(1); i < n && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}
