package e2e

// Bad input on every subject a worker consumes: each poison message must end
// in the namespace's dead-letter stream with a reason (or, on the core-NATS
// subjects, get a clear answer or a logged drop), no worker may crash, no
// queue may block behind it, and workflows running alongside must complete.
//
// The helpers here (badEnv, logRecorder, the BI* workflows) are shared by the
// other badinput_*_test.go files.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// logRecorder is a slog.Handler that keeps every record, so a test can check
// that something was logged.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	attrs []slog.Attr // of a handler made by WithAttrs
	root  *logRecorder
	// late and lateBy hold back the records whose message is late by
	// lateBy before they are kept: a test sets them to widen the gap
	// between an effect and its log line that a slow machine can leave.
	late   string
	lateBy time.Duration
}

// holdBack makes records with message msg reach the recorder d late.
func (r *logRecorder) holdBack(msg string, d time.Duration) {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	r.root.late, r.root.lateBy = msg, d
}

func newLogRecorder() *logRecorder {
	r := &logRecorder{}
	r.root = r
	return r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	for _, a := range r.attrs {
		b.WriteString(" " + a.String())
	}
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	line := b.String()
	if len(line) > 400 {
		line = line[:400] + "…"
	}
	r.root.mu.Lock()
	late, lateBy := r.root.late, r.root.lateBy
	r.root.mu.Unlock()
	if late != "" && rec.Message == late {
		time.Sleep(lateBy)
	}
	r.root.mu.Lock()
	r.root.lines = append(r.root.lines, line)
	r.root.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(append([]slog.Attr{}, r.attrs...), as...), root: r.root}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// count returns how many lines contain every one of parts.
func (r *logRecorder) count(parts ...string) int {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	n := 0
	for _, l := range r.root.lines {
		all := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				all = false
				break
			}
		}
		if all {
			n++
		}
	}
	return n
}

// problems counts the warnings and errors that contain every one of parts,
// and returns the last of them.
func (r *logRecorder) problems(parts ...string) (n int, last string) {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	for _, l := range r.root.lines {
		if !strings.HasPrefix(l, "WARN ") && !strings.HasPrefix(l, "ERROR ") {
			continue
		}
		all := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				all = false
				break
			}
		}
		if all {
			n, last = n+1, l
		}
	}
	return n, last
}

// dump returns the log for a failed test: each distinct line once, with how
// often it was logged, at most 100 of them.
func (r *logRecorder) dump() string {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	counts := map[string]int{}
	var order []string
	for _, l := range r.root.lines {
		if counts[l] == 0 {
			order = append(order, l)
		}
		counts[l]++
	}
	var b strings.Builder
	for i, l := range order {
		if i == 100 {
			fmt.Fprintf(&b, "… and %d more distinct lines\n", len(order)-i)
			break
		}
		if n := counts[l]; n > 1 {
			fmt.Fprintf(&b, "(%d×) ", n)
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// badEnv is an env whose server may have a small max payload and whose
// backend and worker log into a recorder.
type badEnv struct {
	*env
	ns   string
	logs *logRecorder
	ctx  context.Context
}

// badInputOptions are worker options for these tests: unknown names fail
// after a second, failed tasks come back quickly.
func badInputOptions() worker.Options {
	return worker.Options{
		UnknownNameTimeout: time.Second,
		PollWait:           200 * time.Millisecond,
		TaskRetryDelay:     20 * time.Millisecond,
	}
}

// newBadEnv starts an in-process server (maxPayload 0 keeps the server's
// default), a backend in a fresh namespace, a client and a worker with the
// BI* workflows and activities plus whatever register adds.
func newBadEnv(t *testing.T, maxPayload int32, opts worker.Options, register func(w *worker.Worker)) *badEnv {
	t.Helper()
	srv := testenv.Server(t, func(o *embedded.Options) { o.MaxPayload = maxPayload })
	logs := newLogRecorder()
	// Payloads stay inline: these scenarios are about messages over the
	// server's max payload (largepayloads_test.go moves them out).
	b := testenv.Namespace(t, srv, "bad", streams.WithAckWait(5*time.Second), streams.WithLogger(slog.New(logs)),
		streams.WithPayloadThreshold(-1))
	ns := b.Namespace()
	opts.Logger = slog.New(logs)
	e := &badEnv{
		env:  &env{t: t, srv: srv, b: b, c: client.New(b), opts: opts},
		ns:   ns,
		logs: logs,
		ctx:  ctxFor(t),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of the failed test:\n%s", logs.dump())
		}
	})
	e.w = e.startWorker(func(w *worker.Worker) {
		registerBI(t, w)
		if register != nil {
			register(w)
		}
	})
	return e
}

// Subjects, spelled as docs/architecture.md describes them (tokens given
// already encoded).
func (e *badEnv) inboxSubject(queueTok, instTok string) string {
	return "wft." + e.ns + ".q." + queueTok + "." + instTok
}
func (e *badEnv) activitySubject(queueTok string) string { return "wfa." + e.ns + "." + queueTok }
func (e *badEnv) querySubject(queueTok string) string    { return "wfq." + e.ns + "." + queueTok }

// publishRaw stores data on a JetStream subject as any NATS client could.
func (e *badEnv) publishRaw(subject string, data []byte) {
	e.t.Helper()
	_, err := e.b.JetStream().PublishMsg(e.ctx, &nats.Msg{Subject: subject, Data: data})
	require.NoError(e.t, err, "publish to %s", subject)
}

// deadLetters returns the dead letters of a kind keyed by their original
// subject.
func (e *badEnv) deadLetters(kind string) map[string]*streams.DeadLetter {
	e.t.Helper()
	dl, err := e.b.DeadLetters(e.ctx, kind, 0)
	require.NoError(e.t, err)
	out := map[string]*streams.DeadLetter{}
	for _, d := range dl {
		out[d.Subject] = d
	}
	return out
}

// waitDeadLetter waits until a message first published on subject is in the
// dead-letter stream, and returns it.
func (e *badEnv) waitDeadLetter(kind, subject string, within time.Duration) *streams.DeadLetter {
	e.t.Helper()
	var d *streams.DeadLetter
	waitFor(e.t, within, "a dead letter of "+subject, func() bool {
		d = e.deadLetters(kind)[subject]
		return d != nil
	})
	return d
}

// queueDrained waits until a consumer of the namespace has nothing pending,
// nothing waiting for an ack and nothing scheduled for redelivery.
func (e *badEnv) queueDrained(stream, consumer string, within time.Duration) {
	e.t.Helper()
	var info *jetstream.ConsumerInfo
	waitFor(e.t, within, "consumer "+consumer+" of "+stream+" to drain", func() bool {
		c, err := e.b.JetStream().Consumer(e.ctx, stream, consumer)
		if err != nil {
			return false
		}
		info, err = c.Info(e.ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
}

// inboxInfo returns a function that reads the default queue's inbox
// consumer's state.
func (e *badEnv) inboxInfo() func() *jetstream.ConsumerInfo {
	return func() *jetstream.ConsumerInfo {
		e.t.Helper()
		c, err := e.b.JetStream().Consumer(e.ctx, "WF_"+e.ns+"_TASKS", "wft_default")
		require.NoError(e.t, err)
		info, err := c.Info(e.ctx)
		require.NoError(e.t, err)
		return info
	}
}

func (e *badEnv) inboxDrained(within time.Duration) {
	e.t.Helper()
	e.queueDrained("WF_"+e.ns+"_TASKS", "wft_default", within)
}

func (e *badEnv) activitiesDrained(within time.Duration) {
	e.t.Helper()
	e.queueDrained("WF_"+e.ns+"_ACTIVITIES", "wfa_default", within)
}

// --- workflows and activities every badEnv worker has ---

// BIDouble doubles.
func BIDouble(ctx context.Context, n int) (int, error) { return 2 * n, nil }

// BIGood runs one activity: the workflow that must keep working next to
// the poison.
func BIGood(ctx workflow.Context, n int) (int, error) {
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, BIDouble, n).Get(ctx)
}

// BIWaiter waits for the signal "go" (an int), then doubles it by activity:
// a run in flight while the poison arrives.
func BIWaiter(ctx workflow.Context) (int, error) {
	n := 0
	if err := workflow.SetQueryHandler(ctx, "n", func() (int, error) { return n, nil }); err != nil {
		return 0, err
	}
	n, _ = workflow.NewSignalChannel[int](ctx, "go").Receive(ctx)
	return workflow.ExecuteActivity[int](ctx, workflow.DefaultActivityOptions, BIDouble, n).Get(ctx)
}

func registerBI(t *testing.T, w *worker.Worker) {
	must(t, w.RegisterWorkflow(BIGood))
	must(t, w.RegisterWorkflow(BIWaiter))
	must(t, w.RegisterActivity(BIDouble))
}

// goodRun starts BIGood(n) and returns a function that checks it completes
// with 2n.
func (e *badEnv) goodRun(n int) func() {
	e.t.Helper()
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIGood, n)
	require.NoError(e.t, err)
	return func() {
		e.t.Helper()
		res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
		require.NoError(e.t, err, "a good workflow next to the bad input")
		assert.Equal(e.t, 2*n, res)
	}
}

// waiterRun starts BIWaiter and returns a function that signals it and
// checks it completes: a run that was in flight the whole time.
func (e *badEnv) waiterRun() func() {
	e.t.Helper()
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{}, BIWaiter)
	require.NoError(e.t, err)
	// Wait until it is really waiting (its first task committed).
	waitFor(e.t, 20*time.Second, "the waiter to start", func() bool {
		d, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
		return err == nil && d.HistoryLength > 0
	})
	return func() {
		e.t.Helper()
		require.NoError(e.t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "go", 21))
		res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
		require.NoError(e.t, err, "the waiting workflow next to the bad input")
		assert.Equal(e.t, 42, res)
	}
}

// --- encodings ---

// encEvent encodes an event as the inbox carries it, skipping the encoder's
// validation (to forge kinds it refuses).
func encEvent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	require.NoError(t, err)
	return append([]byte{history.CurrentFormat}, b...)
}

// --- the inbox ---

func TestBadInputInboxPoison(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	// The dead letter is stored before its line is logged; hold the line
	// back so that the test must wait for it, as it must on a slow machine.
	e.logs.holdBack("dead-lettered a message", 50*time.Millisecond)
	waiter := e.waiterRun()

	valid := func(kind history.Kind, run string) *history.Event {
		return &history.Event{Kind: kind, Time: time.Now().UTC(), InboxID: "forged:" + kind.String() + ":" + run,
			ExecutionID: run, Name: "go", Args: [][]byte{{0x01}}}
	}
	validSignal, err := history.EncodeEvent(valid(history.SignalReceived, "some-run"))
	require.NoError(t, err)
	commit, err := history.EncodeCommit(&history.Commit{ID: "c1", Events: []history.Event{
		*valid(history.WorkflowStarted, "some-run"), {Kind: history.WorkflowCompleted, ID: 2},
	}})
	require.NoError(t, err)
	task, err := msgpack.Marshal(&streams.ActivityTask{InstanceID: "i", ExecutionID: "r", ScheduleID: 2, Name: "BIDouble", Queue: "default"})
	require.NoError(t, err)

	type poison struct {
		inst   string // instance token of the subject
		data   []byte
		reason string // the dead letter's reason
		err    string // part of its error
	}
	poisons := []poison{
		{"not-msgpack", []byte("hello, world"), "undecodable inbox message", "unknown format 104"},
		{"bad-msgpack", []byte{history.CurrentFormat, 0xc1, 0xc1}, "undecodable inbox message", "malformed"},
		{"truncated", validSignal[:len(validSignal)/2], "undecodable inbox message", "malformed"},
		{"huge-length", []byte{history.CurrentFormat, 0xdd, 0xff, 0xff, 0xff, 0xff}, "undecodable inbox message", "malformed"},
		{"a-string", encEvent(t, "just a string"), "undecodable inbox message", "malformed"},
		{"an-array", encEvent(t, []int{1, 2, 3}), "undecodable inbox message", "malformed"},
		{"activity-task", append([]byte{history.CurrentFormat}, task...), "undecodable inbox message", "malformed"},
		{"empty", nil, "undecodable inbox message", "empty event"},
		{"unknown-kind", encEvent(t, map[string]any{"k": 99, "x": "some-run", "m": "forged:99"}), "undecodable inbox message", "unknown event kind 99"},
		{"kind-zero", encEvent(t, map[string]any{"k": 0, "x": "some-run"}), "undecodable inbox message", "unknown event kind 0"},
		{"a-commit", commit, "undecodable inbox message", "unknown event kind 0"},
		{"produced-kind", encEvent(t, valid(history.ActivityScheduled, "some-run")), "undecodable inbox message", "ActivityScheduled is not an inbound event"},
		{"final-kind", encEvent(t, valid(history.WorkflowCompleted, "some-run")), "undecodable inbox message", "WorkflowCompleted is not an inbound event"},
		{"no-run", encEvent(t, valid(history.SignalReceived, "")), "inbox event names no run", "SignalReceived event without ExecutionID"},
		{"=!!", validSignal, "undecodable inbox message", "invalid name"},
		{"=aGVsbG8", validSignal, "undecodable inbox message", "not a canonical encoding"}, // "hello" needs no encoding
	}
	for _, p := range poisons {
		e.publishRaw(e.inboxSubject("default", p.inst), p.data)
	}
	// An event for a run that never started waits UnknownNameTimeout for
	// its start, then is dead-lettered.
	neverStarted := encEvent(t, valid(history.SignalReceived, "never-started"))
	e.publishRaw(e.inboxSubject("default", "orphan"), neverStarted)
	poisons = append(poisons, poison{"orphan", neverStarted, "event for a run that never started", `run "never-started" of "orphan" has no history and no start`})

	// Garbage in a timer schedule: the server itself puts it into the
	// inbox when it fires.
	timer := nats.NewMsg("wft." + e.ns + ".s.timer-poison.some-run.1")
	timer.Data = []byte("tick")
	timer.Header.Set("Nats-Schedule", "@at "+time.Now().UTC().Format(time.RFC3339Nano))
	timer.Header.Set("Nats-Schedule-Target", e.inboxSubject("default", "timer-poison"))
	_, err = e.b.JetStream().PublishMsg(e.ctx, timer)
	require.NoError(t, err)
	poisons = append(poisons, poison{"timer-poison", []byte("tick"), "undecodable inbox message", "unknown format 116"})

	// Workflows started after the poison get through.
	good := e.goodRun(5)
	for _, p := range poisons {
		d := e.waitDeadLetter(streams.DeadInbox, e.inboxSubject("default", p.inst), 20*time.Second)
		assert.Equal(t, streams.DeadInbox, d.Kind, p.inst)
		assert.Equal(t, p.reason, d.Reason, p.inst)
		assert.Contains(t, d.Error, p.err, p.inst)
		assert.Equal(t, p.data, nilIfEmpty(d.Data), "%s: the dead letter keeps the message as it was", p.inst)
		// The line is logged after the dead letter is stored: wait for it.
		waitFor(t, 10*time.Second, p.inst+": the dead-lettering to be logged", func() bool {
			return e.logs.count("dead-lettered a message", "subject="+e.inboxSubject("default", p.inst)+" ") > 0
		})
	}
	good()
	waiter()
	e.inboxDrained(20 * time.Second)
	assert.Len(t, e.deadLetters(streams.DeadInbox), len(poisons), "nothing else was dead-lettered")
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Forged answers for a run that is running. An answer to a command the
// history does not have is held back with a growing delay (a lagging
// replica would catch up; the worker dead-letters it only after
// maxAheadDeliveries, about half an hour) and never reaches the history;
// once the run has ended it is dropped. An answer that matches no pending
// command is dropped at once (it may be a legitimately late one). An event
// for a run the instance never had is dead-lettered.
func TestBadInputInboxForgedAnswers(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "forged-target"}, BIWaiter)
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "the waiter to start", func() bool {
		d, err := e.c.DescribeWorkflowInstance(e.ctx, inst.InstanceID)
		return err == nil && d.HistoryLength > 0
	})

	ahead := &history.Event{Kind: history.ActivityCompleted, ScheduleID: 999, Time: time.Now().UTC(),
		InboxID: "forged:ahead", ExecutionID: inst.ExecutionID, Result: []byte{0x01}}
	require.NoError(t, e.b.PublishEvent(e.ctx, "default", inst.InstanceID, ahead))
	// Answers the WorkflowStarted event (1), which is no command.
	stale := &history.Event{Kind: history.TimerFired, ScheduleID: 1, Time: time.Now().UTC(),
		InboxID: "forged:stale", ExecutionID: inst.ExecutionID}
	require.NoError(t, e.b.PublishEvent(e.ctx, "default", inst.InstanceID, stale))
	// For another run of the instance, which never existed.
	other := &history.Event{Kind: history.SignalReceived, Name: "go", Args: [][]byte{{0x05}}, Time: time.Now().UTC(),
		InboxID: "forged:other-run", ExecutionID: "other-run"}
	require.NoError(t, e.b.PublishEvent(e.ctx, "default", inst.InstanceID, other))

	waitFor(t, 20*time.Second, "the answer from the future to be held back", func() bool {
		return e.logs.count("an event answers a command the history read does not have yet", "schedule_id=999") > 0
	})
	d := e.waitDeadLetter(streams.DeadInbox, e.inboxSubject("default", "forged-target"), 20*time.Second)
	assert.Equal(t, "event for a run that never started", d.Reason)
	assert.Contains(t, d.Error, `run "other-run" of "forged-target" has no history and no start`)

	// The run itself is unharmed.
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "go", 4))
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 8, res)
	h, err := e.c.GetWorkflowHistory(e.ctx, inst)
	require.NoError(t, err)
	for _, ev := range h.Events {
		assert.NotContains(t, ev.InboxID, "forged:", "a forged event was committed: %v", ev.Kind)
	}
	// The held-back answer comes back once more (after at most its last
	// delay) and is dropped: the run has ended.
	e.inboxDrained(60 * time.Second)
	assert.Len(t, mustDeadLetters(t, e), 1)
}

func mustDeadLetters(t *testing.T, e *badEnv) []*streams.DeadLetter {
	t.Helper()
	dl, err := e.b.DeadLetters(e.ctx, "", 0)
	require.NoError(t, err)
	return dl
}

// --- activity tasks ---

func TestBadInputActivityPoison(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	e.logs.holdBack("dead-lettered a message", 50*time.Millisecond)
	waiter := e.waiterRun()

	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		require.NoError(t, err)
		return append([]byte{1}, b...)
	}
	subject := e.activitySubject("default")
	type poison struct {
		data []byte
		err  string
	}
	poisons := []poison{
		{[]byte("hello, world"), "unknown format 104"},
		{nil, "empty activity task"},
		{[]byte{1, 0xc1}, "malformed"},
		{[]byte{1, 0xdd, 0xff, 0xff, 0xff, 0xff}, "malformed"},
		{enc("a string"), "malformed"},
		{enc(map[string]any{}), "lacks instance, run, name or schedule ID"},
		{enc(map[string]any{"i": "inst", "x": "run", "n": "BIDouble", "s": -1}), "lacks instance, run, name or schedule ID"},
		{encEvent(t, &history.Event{Kind: history.SignalReceived, ExecutionID: "r", InboxID: "x"}), "lacks instance"},
	}
	for _, p := range poisons {
		e.publishRaw(subject, p.data)
	}
	good := e.goodRun(7)
	var dead []*streams.DeadLetter
	waitFor(t, 20*time.Second, "every poison activity task to be dead-lettered", func() bool {
		var err error
		dead, err = e.b.DeadLetters(e.ctx, streams.DeadActivity, 0)
		require.NoError(t, err)
		return len(dead) >= len(poisons)
	})
	require.Len(t, dead, len(poisons))
	byData := map[string]*streams.DeadLetter{}
	for _, d := range dead {
		byData[string(d.Data)] = d
	}
	for i, p := range poisons {
		d := byData[string(p.data)]
		require.NotNil(t, d, "poison %d (%q) is not among the dead letters", i, p.data)
		assert.Equal(t, subject, d.Subject)
		assert.Equal(t, "undecodable activity task", d.Reason)
		assert.Contains(t, d.Error, p.err, "poison %d", i)
	}
	// The lines are logged after the dead letters are stored: wait for them.
	waitFor(t, 10*time.Second, "the dead-lettering of each poison activity task to be logged", func() bool {
		return e.logs.count("dead-lettered a message", "kind=activity") >= len(poisons)
	})
	good()
	waiter()
	e.activitiesDrained(20 * time.Second)
	assert.Empty(t, e.deadLetters(streams.DeadInbox))
}

// Well-formed activity tasks that cannot run: an unknown activity and
// arguments that do not fit. Forged ones (their run does not exist) end as
// ActivityFailed events with the clear reason, which are dead-lettered from
// the inbox because their run never started; the same mistakes made by a
// real workflow reach its code as errors (TestBadInputWorkflowActivityCalls).
func TestBadInputActivityTasksThatCannotRun(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	good := e.goodRun(3)
	long := time.Now().Add(-time.Hour).UTC() // past UnknownNameTimeout: fails at once
	tasks := []struct {
		inst string
		task *streams.ActivityTask
		want []string // in the failure of the ActivityFailed event
	}{
		{"unknown-activity", &streams.ActivityTask{Name: "NoSuchActivity", ScheduledAt: long},
			[]string{"UnknownActivity", `no worker of queue "default" has activity "NoSuchActivity" registered`}},
		{"wrong-arg-type", &streams.ActivityTask{Name: "BIDouble", Args: [][]byte{mustMsgpack(t, "six")}, ScheduledAt: long},
			[]string{"argument 1: cannot decode into int"}},
		{"too-many-args", &streams.ActivityTask{Name: "BIDouble", Args: [][]byte{mustMsgpack(t, 1), mustMsgpack(t, 2)}, ScheduledAt: long},
			[]string{"takes 1 arguments (int), got 2"}},
		{"no-args", &streams.ActivityTask{Name: "BIDouble", ScheduledAt: long},
			[]string{"takes 1 arguments (int), got 0"}},
		{"garbage-arg", &streams.ActivityTask{Name: "BIDouble", Args: [][]byte{{0xc1}}, ScheduledAt: long},
			[]string{"argument 1: cannot decode into int"}},
	}
	for _, tt := range tasks {
		tt.task.InstanceID, tt.task.ExecutionID, tt.task.ScheduleID = tt.inst, "forged-run", 2
		tt.task.Queue, tt.task.WorkflowQueue = "default", "default"
		require.NoError(t, e.b.PublishActivity(e.ctx, tt.task))
	}
	for _, tt := range tasks {
		d := e.waitDeadLetter(streams.DeadInbox, e.inboxSubject("default", tt.inst), 20*time.Second)
		assert.Equal(t, "event for a run that never started", d.Reason)
		ev, err := history.DecodeEvent(d.Data)
		require.NoError(t, err)
		assert.Equal(t, history.ActivityFailed, ev.Kind, tt.inst)
		require.NotNil(t, ev.Failure, tt.inst)
		assert.True(t, ev.Failure.NonRetryable, "%s: not retried", tt.inst)
		for _, w := range tt.want {
			assert.Contains(t, ev.Failure.Error(), w, tt.inst)
		}
	}
	good()
	e.activitiesDrained(20 * time.Second)
	e.inboxDrained(20 * time.Second)
	assert.Empty(t, e.deadLetters(streams.DeadActivity))
}

func mustMsgpack(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	require.NoError(t, err)
	return b
}

// --- core NATS: queries and activity cancels ---

func TestBadInputQueryRequests(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "queried"}, BIWaiter)
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "the waiter to start", func() bool {
		n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "n")
		return err == nil && n == 0
	})

	ask := func(body []byte) *streams.QueryResponse {
		t.Helper()
		msg, err := e.b.Conn().Request(e.querySubject("default"), body, 10*time.Second)
		require.NoError(t, err, "every query request gets an answer")
		var resp streams.QueryResponse
		require.NoError(t, json.Unmarshal(msg.Data, &resp), "the answer is a QueryResponse: %s", msg.Data)
		return &resp
	}
	req := func(r streams.QueryRequest) []byte {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name string
		body []byte
		want string // part of the failure
	}{
		{"not JSON", []byte("{{{"), "malformed query request"},
		{"empty", nil, "malformed query request"},
		{"msgpack", mustMsgpack(t, map[string]string{"instance_id": "queried", "name": "n"}), "malformed query request"},
		{"JSON of the wrong shape", []byte(`[1,2,3]`), "malformed query request"},
		{"wrong field types", []byte(`{"instance_id": 5, "name": true}`), "malformed query request"},
		{"no instance", req(streams.QueryRequest{Name: "n"}), "malformed query request"},
		{"no name", req(streams.QueryRequest{InstanceID: "queried"}), "malformed query request"},
		{"args not base64", []byte(`{"instance_id":"queried","name":"n","args":["!!"]}`), "malformed query request"},
		{"unknown instance", req(streams.QueryRequest{InstanceID: "nobody", Name: "n"}), "not found"},
		{"instance ID too long", req(streams.QueryRequest{InstanceID: strings.Repeat("x", 300), Name: "n"}), "limit is 255"},
		{"bad execution ID", req(streams.QueryRequest{InstanceID: "queried", ExecutionID: "a.b", Name: "n"}), "execution ID"},
		{"unknown execution", req(streams.QueryRequest{InstanceID: "queried", ExecutionID: "other", Name: "n"}), "has not started"},
		{"unknown query", req(streams.QueryRequest{InstanceID: "queried", Name: "colour"}), `no handler for query "colour"`},
		{"extra argument", req(streams.QueryRequest{InstanceID: "queried", Name: "n", Args: [][]byte{{0x01}}}), "takes 0 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ask(tt.body)
			require.NotNil(t, resp.Failure, "a failure, not a result")
			assert.Contains(t, resp.Failure.Error(), tt.want)
		})
	}
	// The worker still answers and runs workflows.
	n, err := client.QueryWorkflow[int](e.ctx, e.c, inst, "n")
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	e.goodRun(9)()
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "go", 1))
	res, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 2, res)
}

func TestBadInputActivityCancels(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	waiter := e.waiterRun()
	nc := e.b.Conn()
	malformed := []string{
		"wfc." + e.ns + ".only-inst",
		"wfc." + e.ns + ".inst.run",
		"wfc." + e.ns + ".inst.run.1.extra",
		"wfc." + e.ns + ".=!!.run.1",
		"wfc." + e.ns + ".inst.run.abc",
		"wfc." + e.ns + ".inst.run.-1",
		"wfc." + e.ns + ".inst.run.0",
		"wfc." + e.ns + ".inst.run.99999999999999999999",
	}
	for _, s := range malformed {
		require.NoError(t, nc.Publish(s, []byte("garbage body")))
	}
	// Well-formed, for an activity nobody runs: remembered, harmless.
	require.NoError(t, nc.Publish("wfc."+e.ns+".inst.run.7", []byte{0xc1}))
	require.NoError(t, nc.Flush())
	waitFor(t, 20*time.Second, "every malformed cancel to be logged", func() bool {
		return e.logs.count("dropped a malformed activity cancel") >= len(malformed)
	})
	for _, s := range malformed {
		assert.Equal(t, 1, e.logs.count("dropped a malformed activity cancel", "subject="+s+" "), s)
	}
	e.goodRun(2)()
	waiter()
}

// Garbage result notices do not confuse a client waiting for a result.
func TestBadInputResultNotices(t *testing.T) {
	e := newBadEnv(t, 0, badInputOptions(), nil)
	inst, err := e.c.CreateWorkflowInstance(e.ctx, client.WorkflowInstanceOptions{InstanceID: "noticed"}, BIWaiter)
	require.NoError(t, err)
	type res struct {
		n   int
		err error
	}
	done := make(chan res, 1)
	go func() {
		n, err := client.GetWorkflowResult[int](e.ctx, e.c, inst, 30*time.Second)
		done <- res{n, err}
	}()
	nc := e.b.Conn()
	subject := "wfr." + e.ns + ".noticed"
	for _, body := range [][]byte{nil, []byte("{{"), []byte(`{"status":"completed"}`),
		[]byte(`{"instance_id":"noticed","execution_id":"x","status":"bogus"}`)} {
		require.NoError(t, nc.Publish(subject, body))
	}
	require.NoError(t, nc.Flush())
	select {
	case r := <-done:
		t.Fatalf("GetWorkflowResult returned on a forged notice: %v, %v", r.n, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, e.c.SignalWorkflow(e.ctx, inst.InstanceID, "go", 10))
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 20, r.n)
}
