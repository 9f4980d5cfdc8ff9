package streams

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on user-supplied names. An instance ID or queue name becomes a
// subject token and a KV key; these keep subjects well under the server's
// control-line limit.
const (
	MaxInstanceIDLength = 255 // bytes, before encoding
	MaxQueueLength      = 64  // bytes, before encoding
	MaxNamespaceLength  = 32
)

// DefaultNamespace is the namespace used when none is given.
const DefaultNamespace = "default"

// ErrInvalidName is returned (wrapped, with the reason) for an instance ID,
// execution ID, queue name or namespace that cannot be used.
var ErrInvalidName = errors.New("streams: invalid name")

// encodedMarker starts every token that is not the raw name. It cannot start
// a raw token, because raw tokens use only [A-Za-z0-9_-], and it is allowed
// in subjects, KV keys and consumer names.
const encodedMarker = "="

// plainToken reports whether s can stand in a subject as it is.
func plainToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkName validates a user-supplied name; what says what it names.
func checkName(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidName, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes long, the limit is %d", ErrInvalidName, what, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidName, what)
	}
	return nil
}

// EncodeInstanceID turns an instance ID into the token used in subjects and
// registry keys. IDs made only of [A-Za-z0-9_-] are used as they are;
// anything else is base64url-encoded behind a "=" marker. The mapping is
// reversible by DecodeToken.
func EncodeInstanceID(id string) (string, error) {
	if err := checkName("instance ID", id, MaxInstanceIDLength); err != nil {
		return "", err
	}
	return encodeToken(id), nil
}

// EncodeQueue turns a queue name into its subject token, as EncodeInstanceID.
func EncodeQueue(queue string) (string, error) {
	if err := checkName("queue name", queue, MaxQueueLength); err != nil {
		return "", err
	}
	return encodeToken(queue), nil
}

func encodeToken(s string) string {
	if plainToken(s) {
		return s
	}
	return encodedMarker + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeToken reverses EncodeInstanceID and EncodeQueue.
func DecodeToken(tok string) (string, error) {
	if tok == "" {
		return "", fmt.Errorf("%w: empty token", ErrInvalidName)
	}
	if rest, ok := strings.CutPrefix(tok, encodedMarker); ok {
		b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if err != nil {
			return "", fmt.Errorf("%w: token %q: %v", ErrInvalidName, tok, err)
		}
		s := string(b)
		// Only names that needed encoding are encoded; anything else did
		// not come from encodeToken.
		if s == "" || plainToken(s) || !utf8.ValidString(s) {
			return "", fmt.Errorf("%w: token %q is not a canonical encoding", ErrInvalidName, tok)
		}
		return s, nil
	}
	if !plainToken(tok) {
		return "", fmt.Errorf("%w: token %q has characters a raw token cannot have", ErrInvalidName, tok)
	}
	return tok, nil
}

// checkNamespace validates a namespace. Namespaces are part of stream names,
// so they are never encoded: only [A-Za-z0-9_-] is allowed.
func checkNamespace(ns string) error {
	if err := checkName("namespace", ns, MaxNamespaceLength); err != nil {
		return err
	}
	if !plainToken(ns) {
		return fmt.Errorf("%w: namespace %q may use only letters, digits, '_' and '-'", ErrInvalidName, ns)
	}
	return nil
}

// CheckExecutionID validates a run's ID (an error matching ErrInvalidName).
// jetflow makes them (UUIDs), so anything that does not fit a raw token is
// a caller's mistake, not a name to encode.
func CheckExecutionID(run string) error {
	if err := checkName("execution ID", run, 64); err != nil {
		return err
	}
	if !plainToken(run) {
		return fmt.Errorf("%w: execution ID %q may use only letters, digits, '_' and '-'", ErrInvalidName, run)
	}
	return nil
}

// names builds every stream, bucket, consumer and subject name of one
// namespace. Nothing else in jetflow spells them out.
type names struct{ ns string }

func (n names) historyStream() string    { return "WF_" + n.ns + "_HISTORY" }
func (n names) tasksStream() string      { return "WF_" + n.ns + "_TASKS" }
func (n names) activitiesStream() string { return "WF_" + n.ns + "_ACTIVITIES" }
func (n names) deadStream() string       { return "WF_" + n.ns + "_DEAD" }
func (n names) registryBucket() string   { return "wf_" + n.ns + "_instances" }
func (n names) detailsBucket() string    { return "wf_" + n.ns + "_heartbeats" }
func (n names) payloadsBucket() string   { return "wf_" + n.ns + "_payloads" }
func (n names) indexStream() string      { return "WF_" + n.ns + "_INDEX" }
func (n names) countsStream() string     { return "WF_" + n.ns + "_COUNTS" }
func (n names) schedulesBucket() string  { return "wf_" + n.ns + "_schedules" }

// Schedules: the armed message schedule of a schedule, and the subject its
// fires arrive on (both in the task stream), and their consumer.
func (n names) scheduleArm(sched string) string  { return "wft." + n.ns + ".z." + sched }
func (n names) scheduleFire(sched string) string { return "wft." + n.ns + ".f." + sched }
func (n names) scheduleFireAll() string          { return "wft." + n.ns + ".f.*" }
func (n names) scheduleConsumer() string         { return "wf_schedules" }

// detailsSubject is the subject that stores the details of key.
func (n names) detailsSubject(key string) string { return "$KV." + n.detailsBucket() + "." + key }

// detailsKey is the key of an activity's heartbeat details.
func (n names) detailsKey(inst, run string, scheduleID int64) string {
	return inst + "." + run + "." + strconv.FormatInt(scheduleID, 10)
}

func (n names) historyAll() string    { return "wfh." + n.ns + ".>" }
func (n names) tasksAll() string      { return "wft." + n.ns + ".>" }
func (n names) activitiesAll() string { return "wfa." + n.ns + ".>" }
func (n names) deadAll() string       { return "wfd." + n.ns + ".>" }
func (n names) indexAll() string      { return "wfx." + n.ns + ".>" }
func (n names) countsAll() string     { return "wfn." + n.ns + ".>" }

// counter is the subject of the counter of instances of a status and a
// workflow token: wfn.<ns>.<status>.<workflow> ("*" for any).
func (n names) counter(status, workflow string) string {
	return "wfn." + n.ns + "." + status + "." + workflow
}

// indexRow is the subject of an instance's list-index row:
// wfx.<ns>.<status>.<workflow>.<inst>.
func (n names) indexRow(status, workflow, inst string) string {
	return "wfx." + n.ns + "." + status + "." + workflow + "." + inst
}

// indexFilter selects the index rows of a status and a workflow token;
// "" for either is any.
func (n names) indexFilter(status, workflow string) string {
	return n.indexRow(cmpOr(status, "*"), cmpOr(workflow, "*"), "*")
}

// indexAttr is the subject of the list-index row of one search attribute
// of an instance: wfx.<ns>.a.<key>.<value>.<inst>. It has one token more
// than a status row, so no filter of status rows (wfx.<ns>.*.*.*) matches
// it, and no status is "a".
func (n names) indexAttr(key, value, inst string) string {
	return "wfx." + n.ns + ".a." + key + "." + value + "." + inst
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Subjects take already-encoded tokens.
func (n names) history(inst, run string) string { return "wfh." + n.ns + "." + inst + "." + run }
func (n names) historyOfInstance(inst string) string {
	return "wfh." + n.ns + "." + inst + ".*"
}
func (n names) inbox(queue, inst string) string  { return "wft." + n.ns + ".q." + queue + "." + inst }
func (n names) inboxOfQueue(queue string) string { return "wft." + n.ns + ".q." + queue + ".*" }
func (n names) timer(inst, run string, id int64) string {
	return fmt.Sprintf("wft.%s.s.%s.%s.%d", n.ns, inst, run, id)
}

// runStart and runDeadline are a run's schedules that are not timers of
// its code: its delayed start and the end its timeouts set. They share
// the run's timer subjects, so ending the run purges them with its timers.
func (n names) runStart(inst, run string) string { return n.timer(inst, run, 0) }
func (n names) runDeadline(inst, run string) string {
	return "wft." + n.ns + ".s." + inst + "." + run + ".deadline"
}

// activityDeadline is the schedule that ends an activity call completed
// asynchronously if its outcome does not come in time.
func (n names) activityDeadline(inst, run string, scheduleID int64) string {
	return fmt.Sprintf("wft.%s.s.%s.%s.a%d", n.ns, inst, run, scheduleID)
}

// activityHeartbeatDeadline is the schedule that ends such a call when the
// outside system stops heartbeating; each heartbeat moves it.
func (n names) activityHeartbeatDeadline(inst, run string, scheduleID int64) string {
	return fmt.Sprintf("wft.%s.s.%s.%s.h%d", n.ns, inst, run, scheduleID)
}
func (n names) timersOfRun(inst, run string) string {
	return "wft." + n.ns + ".s." + inst + "." + run + ".*"
}

// removal is a retention schedule (of a batch of removals; before
// batches, of one instance); expiry is where it fires.
func (n names) removal(token string) string { return "wft." + n.ns + ".r." + token }
func (n names) removals() string            { return "wft." + n.ns + ".r.*" }
func (n names) expiry(inst string) string   { return "wft." + n.ns + ".x." + inst }
func (n names) expiries() string            { return "wft." + n.ns + ".x.*" }

func (n names) activities(queue string) string { return "wfa." + n.ns + "." + queue }
func (n names) dead(kind string) string        { return "wfd." + n.ns + "." + kind }
func (n names) result(inst string) string      { return "wfr." + n.ns + "." + inst }
func (n names) update(inst, upd string) string { return "wfu." + n.ns + "." + inst + "." + upd }
func (n names) query(queue string) string      { return "wfq." + n.ns + "." + queue }
func (n names) activityCancel(inst, run string, event int64) string {
	return fmt.Sprintf("wfc.%s.%s.%s.%d", n.ns, inst, run, event)
}

// Consumer names: one durable pull consumer per (queue, kind).
func (n names) inboxConsumer(queue string) string    { return "wft_" + queue }
func (n names) activityConsumer(queue string) string { return "wfa_" + queue }

// retentionConsumer reads fired retention schedules. "wfx_" is no queue
// consumer's prefix, so no queue name can collide with it.
func (n names) retentionConsumer() string { return "wfx_retention" }

// inboxInstance extracts the encoded instance token from an inbox subject
// wft.<ns>.q.<queue>.<inst>.
func (n names) inboxInstance(subject string) (string, bool) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != "wft" || parts[1] != n.ns || parts[2] != "q" {
		return "", false
	}
	return parts[4], true
}
