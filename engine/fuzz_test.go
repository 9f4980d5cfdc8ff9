package engine_test

// Fuzz targets for the executor: whatever history or inbound events it is
// given, it returns errors, never panics, never hangs, and is always
// closed. FuzzExecutorReplay also checks that a history the executor
// produced itself replays (determinism) to the same state.
//
//	go test -run '^$' -fuzz FuzzExecutorReplay -fuzztime 60s ./engine
//	go test -run '^$' -fuzz FuzzExecutorExecute -fuzztime 60s ./engine

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/workflow"
)

// --- workflows the fuzzed histories run ---

// FzMain uses most of the workflow API: query handlers, a side effect, a
// version marker, a cancelable scope with an activity and a timer, signals
// through a coroutine and a channel, Select, a sub-workflow and a signal to
// another instance awaited by a wait group, cleanup in a disconnected
// context, a panic, continue-as-new.
func FzMain(ctx workflow.Context, n int) (int, error) {
	state := 0
	if err := workflow.SetQueryHandler(ctx, "state", func() (int, error) { return state, nil }); err != nil {
		return 0, err
	}
	if err := workflow.SetQueryHandler(ctx, "echo", func(s string, k int) (string, error) { return s + strconv.Itoa(k), nil }); err != nil {
		return 0, err
	}
	id, err := workflow.SideEffect(ctx, func(workflow.Context) int { return n + 1 }).Get(ctx)
	if err != nil {
		return 0, err
	}
	v := workflow.GetVersion(ctx, "change", workflow.DefaultVersion, 2)
	tctx, cancel := workflow.WithCancel(ctx)
	opts := workflow.ActivityOptions{WaitForCancellation: n%2 == 0}
	act := workflow.ExecuteActivity[int](tctx, opts, "FzAct", n)
	timer := workflow.ScheduleTimer(tctx, time.Minute)
	sig := workflow.NewSignalChannel[int](ctx, "sig")
	ch := workflow.NewBufferedChannel[int](ctx, 1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		v, ok := sig.Receive(ctx)
		if ok {
			ch.Send(ctx, v)
		}
	})
	got, actDone := 0, false
	for i := 0; i < 2; i++ {
		cases := []workflow.SelectCase{
			workflow.Await(timer, func(ctx workflow.Context, f workflow.Future[struct{}]) { cancel() }),
			workflow.Receive(ch, func(ctx workflow.Context, v int, ok bool) { got += v }),
		}
		if !actDone {
			cases = append(cases, workflow.Await(act, func(ctx workflow.Context, f workflow.Future[int]) {
				actDone = true
				if r, err := f.Get(ctx); err == nil {
					got += r
				}
			}))
		}
		workflow.Select(ctx, cases...)
	}
	cancel()
	child := workflow.CreateSubWorkflowInstance[int](ctx, workflow.SubWorkflowOptions{}, "FzChild", got)
	sent := workflow.SignalWorkflow(ctx, "other", "sig", got)
	wg := workflow.NewWaitGroup(ctx)
	wg.Add(2)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer wg.Done()
		if r, err := child.Get(ctx); err == nil {
			got += r
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer wg.Done()
		_, _ = sent.Get(ctx)
	})
	wg.Wait(ctx)
	if v == 2 {
		_ = workflow.Sleep(ctx, time.Second)
	}
	if ctx.Err() != nil {
		dctx := workflow.NewDisconnectedContext(ctx)
		_, _ = workflow.ExecuteActivity[struct{}](dctx, workflow.ActivityOptions{}, "FzCleanup").Get(dctx)
		return 0, ctx.Err()
	}
	state = got + id
	switch got {
	case 13:
		panic("thirteen")
	case 7:
		return 0, workflow.ContinueAsNew(ctx, got)
	}
	return state, nil
}

// FzLoop waits for signals or timers in a loop, one activity per round.
func FzLoop(ctx workflow.Context) (string, error) {
	out := ""
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) { return out, nil }); err != nil {
		return "", err
	}
	sig := workflow.NewSignalChannel[string](ctx, "sig")
	for i := 0; i < 30; i++ {
		workflow.Select(ctx,
			workflow.Receive(sig, func(ctx workflow.Context, s string, ok bool) { out += s }),
			workflow.Await(workflow.ScheduleTimer(ctx, time.Hour), func(workflow.Context, workflow.Future[struct{}]) { out += "t" }),
		)
		r, err := workflow.ExecuteActivity[string](ctx, workflow.ActivityOptions{}, "FzAct", i).Get(ctx)
		if err != nil {
			return out, err
		}
		out += r
		if errors.Is(ctx.Err(), workflow.Canceled) {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// FzChild is the sub-workflow FzMain starts.
func FzChild(ctx workflow.Context, n int) (int, error) { return n * 2, nil }

// FzArgs takes arguments of many shapes, for undecodable payloads.
func FzArgs(ctx workflow.Context, s string, xs []int, m map[string]int, p *struct{ A int }) (string, error) {
	return fmt.Sprint(s, len(xs), len(m), p != nil), nil
}

var fzRegistry = engine.Workflows{
	"FzMain": FzMain, "FzLoop": FzLoop, "FzChild": FzChild, "FzArgs": FzArgs,
	"FzNotAFunction": 42, // registered wrongly
}

var fzWorkflowNames = []string{"FzMain", "FzLoop", "FzChild", "FzArgs", "FzNotAFunction", "", "Missing"}

// --- turning fuzz bytes into events ---

// fzReader hands out the fuzz input a byte at a time; zeros once it is
// used up, so every input is a valid program.
type fzReader struct {
	data []byte
	pos  int
}

func (r *fzReader) byte() byte {
	if r.pos >= len(r.data) {
		return 0
	}
	b := r.data[r.pos]
	r.pos++
	return b
}

func (r *fzReader) more() bool { return r.pos < len(r.data) }

func (r *fzReader) intn(n int) int { return int(r.byte()) % n }

func fzEncode(v any) []byte {
	b, err := converter.Default.Encode(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fzPayloads are valid and invalid encodings.
var fzPayloads = func() [][]byte {
	deep := make([]byte, 0, 70)
	for range 70 {
		deep = append(deep, 0x91) // fixarray of one, nested past the limit
	}
	deep = append(deep, 0x01)
	return [][]byte{
		nil,
		fzEncode(7),
		fzEncode(13),
		fzEncode(-1),
		fzEncode("s"),
		fzEncode([]int{1, 2}),
		fzEncode(map[string]int{"a": 1}),
		fzEncode(struct{ A int }{3}),
		fzEncode(true),
		{0xc0},                               // nil
		{0xc1},                               // never used
		{0xdd, 0xff, 0xff, 0xff, 0xff},       // an array of 2^32-1 elements, announced
		{0xd9, 0x05, 'a'},                    // a string cut short
		{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, // NaN
		deep,
		{},
	}
}()

var fzNames = []string{"sig", "other", "", "FzAct", "change", "FzChild", "state", "x"}

var fzFailures = []*history.Failure{
	nil,
	{Message: "boom"},
	{Type: workflow.ErrTypeCanceled, Message: "canceled"},
	{Type: workflow.ErrTypePanic, Message: "p", Stack: "stack"},
	{Type: "T", Message: "nr", NonRetryable: true},
	{Type: workflow.ErrTypeInstanceNotFound, Message: "gone"},
}

var fzEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fzGen makes inbound events from fuzz bytes.
type fzGen struct {
	r     *fzReader
	now   time.Time
	inbox int
	sent  []history.Event // every inbound event made, for duplicates
}

func (g *fzGen) payload() []byte { return fzPayloads[g.r.intn(len(fzPayloads))] }
func (g *fzGen) name() string    { return fzNames[g.r.intn(len(fzNames))] }

func (g *fzGen) stamp(ev history.Event) history.Event {
	switch g.r.intn(8) {
	case 0: // the same time
	case 1:
		ev.Time = g.now.Add(-time.Hour) // behind the run's clock
	default:
		g.now = g.now.Add(time.Duration(g.r.byte()) * time.Second)
	}
	if ev.Time.IsZero() {
		ev.Time = g.now
	}
	g.inbox++
	ev.InboxID = "m" + strconv.Itoa(g.inbox)
	switch g.r.intn(16) {
	case 0:
		ev.ExecutionID = "other-run"
	case 1:
		ev.ExecutionID = "run-1"
	}
	g.sent = append(g.sent, ev)
	return ev
}

func (g *fzGen) started() history.Event {
	// Mostly the workflows that go deep.
	name := "FzMain"
	switch n := g.r.intn(16); {
	case n >= 6 && n < 10:
		name = "FzLoop"
	case n >= 10:
		name = fzWorkflowNames[n-10]
	}
	ev := history.Event{Kind: history.WorkflowStarted, Name: name, Queue: "q"}
	switch g.r.intn(8) {
	case 0, 1, 2, 3, 4, 5: // arguments that fit, where there is a fitting set
		switch name {
		case "FzMain", "FzChild":
			ev.Args = [][]byte{fzEncode(int(g.r.byte() % 16))}
		case "FzArgs":
			ev.Args = [][]byte{fzEncode("a"), fzEncode([]int{1}), fzEncode(map[string]int{}), fzEncode(&struct{ A int }{1})}
		}
	default:
		for range g.r.intn(5) {
			ev.Args = append(ev.Args, g.payload())
		}
	}
	if g.r.intn(4) == 0 {
		ev.Parent = &history.Parent{InstanceID: "parent", ExecutionID: "prun", ScheduleID: int64(g.r.byte())}
	}
	return g.stamp(ev)
}

// answer makes an answer to a pending command, or nil if none.
func (g *fzGen) answer(pending []engine.PendingCommand) *history.Event {
	if len(pending) == 0 {
		return nil
	}
	c := pending[g.r.intn(len(pending))].Event
	ev := history.Event{ScheduleID: c.ID}
	failed := g.r.intn(3) == 0
	switch c.Kind {
	case history.ActivityScheduled:
		ev.Kind, ev.Result = history.ActivityCompleted, g.payload()
		if failed {
			ev.Kind, ev.Result, ev.Failure = history.ActivityFailed, nil, fzFailures[g.r.intn(len(fzFailures))]
		}
	case history.TimerScheduled:
		ev.Kind = history.TimerFired
	case history.SubWorkflowScheduled:
		ev.Kind, ev.Result = history.SubWorkflowCompleted, g.payload()
		if failed {
			ev.Kind, ev.Result, ev.Failure = history.SubWorkflowFailed, nil, fzFailures[g.r.intn(len(fzFailures))]
		}
	case history.SignalWorkflowScheduled:
		ev.Kind = history.SignalDelivered
		if failed {
			ev.Failure = fzFailures[g.r.intn(len(fzFailures))]
		}
	default:
		return nil
	}
	ev = g.stamp(ev)
	return &ev
}

// any makes an inbound event of any kind with fuzzed fields: answers to
// commands that may not exist, produced kinds, unknown kinds.
func (g *fzGen) any(produced bool) history.Event {
	var kind history.Kind
	switch {
	case produced && g.r.intn(4) == 0:
		kind = history.Kind(g.r.byte() % 40) // produced, unknown and invalid kinds too
	default:
		kind = history.Kind(1 + g.r.intn(10)) // inbound
	}
	ev := history.Event{
		Kind:       kind,
		ScheduleID: int64(g.r.intn(24)) - 2,
		Name:       g.name(),
		Result:     g.payload(),
		Failure:    fzFailures[g.r.intn(len(fzFailures))],
		Version:    g.r.intn(5) - 2,
		Reason:     g.name(),
	}
	if g.r.intn(2) == 0 {
		ev.Args = [][]byte{g.payload()}
	}
	if kind == history.WorkflowStarted {
		ev.Name = fzWorkflowNames[g.r.intn(len(fzWorkflowNames))]
	}
	return g.stamp(ev)
}

// next makes the inbound events of one task, steered by the executor's
// pending commands so runs get deep.
func (g *fzGen) next(ex *engine.Executor, produced bool) []history.Event {
	var out []history.Event
	for range 1 + g.r.intn(3) {
		switch op := g.r.intn(16); {
		case op < 7:
			if a := g.answer(ex.Pending()); a != nil {
				out = append(out, *a)
			}
		case op < 10:
			arg := g.payload()
			if op == 7 {
				arg = fzEncode(int(g.r.byte() % 16))
			}
			out = append(out, g.stamp(history.Event{Kind: history.SignalReceived, Name: g.name(), Args: [][]byte{arg}}))
		case op == 10:
			out = append(out, g.stamp(history.Event{Kind: history.CancelRequested}))
		case op == 11:
			if g.r.intn(4) == 0 {
				out = append(out, g.stamp(history.Event{Kind: history.TerminateRequested, Reason: "r"}))
			}
		case op == 12 && len(g.sent) > 0:
			out = append(out, g.sent[g.r.intn(len(g.sent))]) // a redelivery
		case op == 13:
			out = append(out, g.started())
		default:
			out = append(out, g.any(produced))
		}
	}
	return out
}

// --- running the executor safely ---

const (
	fzBlockedTimeout = 2 * time.Second
	fzDeadline       = 10 * time.Second
)

func fzExecutor() *engine.Executor {
	ex, err := engine.NewExecutor(engine.Options{
		InstanceID:     "inst-1",
		ExecutionID:    "run-1",
		Registry:       fzRegistry,
		BlockedTimeout: fzBlockedTimeout,
		// Small, so long fuzzed runs reach the limit too.
		MaxHistoryLength: 200,
	})
	if err != nil {
		panic(err)
	}
	return ex
}

// withDeadline runs body (on the test's goroutine, so it may fail the test)
// and crashes the test binary with every goroutine's stack if body does not
// return in time: the executor hangs. A crash is what the fuzzer records
// as a failing input.
func withDeadline(t *testing.T, body func()) {
	t.Helper()
	name := t.Name()
	watchdog := time.AfterFunc(fzDeadline, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("%s: the executor did not return within %s\n%s", name, fzDeadline, buf))
	})
	defer watchdog.Stop()
	body()
}

// roundTrip sends a task's output through the history encoding, as a
// commit stored in JetStream would be.
func roundTrip(t *testing.T, out []history.Event) []history.Event {
	t.Helper()
	b, err := history.EncodeCommit(&history.Commit{ID: "c", Events: out})
	if err != nil {
		t.Fatalf("the executor produced a commit that does not encode: %v", err)
	}
	c, err := history.DecodeCommit(b)
	if err != nil {
		t.Fatalf("a commit does not decode: %v", err)
	}
	return c.Events
}

// execute runs one Execute and checks what it returned.
func execute(t *testing.T, ex *engine.Executor, events []history.Event) ([]history.Event, error) {
	t.Helper()
	before := ex.HistoryLength()
	_, wasFinal := ex.Final()
	out, err := ex.Execute(events)
	checkClear(t, "Execute", err)
	if err != nil {
		if out != nil {
			t.Fatalf("Execute returned events with an error: %v", err)
		}
		if wasFinal && !errors.Is(err, engine.ErrRunFinished) {
			t.Fatalf("Execute on a finished run: %v, want ErrRunFinished", err)
		}
		return nil, err
	}
	if wasFinal {
		t.Fatalf("Execute on a finished run returned no error")
	}
	for i, ev := range out {
		if ev.ID != before+int64(i)+1 {
			t.Fatalf("event %d of the output (%v) has ID %d, want %d", i, ev.Kind, ev.ID, before+int64(i)+1)
		}
		if ev.Kind.Final() && i != len(out)-1 {
			t.Fatalf("a final event (%v) is followed by %v", ev.Kind, out[i+1].Kind)
		}
	}
	if got := ex.HistoryLength(); got != before+int64(len(out)) {
		t.Fatalf("HistoryLength %d after %d events added to %d", got, len(out), before)
	}
	return out, nil
}

// query asks the executor every kind of query; errors are fine.
func query(ex *engine.Executor, g *fzGen) {
	_, _ = ex.Query("state", nil)
	_, _ = ex.Query("echo", [][]byte{g.payload(), g.payload()})
	_, _ = ex.Query("state", [][]byte{g.payload()})
	_, _ = ex.Query("nope", nil)
	_ = ex.Pending()
	_, _ = ex.Final()
}

func isBlocked(err error) bool {
	var b *engine.BlockedError
	return errors.As(err, &b)
}

// checkClear fails the test unless err is one of the errors the executor
// documents: a history that does not fit the code, a run that has ended,
// a workflow that is not registered, code that blocked.
func checkClear(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil, isBlocked(err),
		errors.Is(err, engine.ErrNondeterministic),
		errors.Is(err, engine.ErrBadHistory),
		errors.Is(err, engine.ErrRunFinished),
		errors.Is(err, engine.ErrUnknownWorkflow):
		return
	}
	t.Fatalf("%s failed with an undocumented error (%T): %v", what, err, err)
}

// mutate changes a history in ways the fuzz input chooses.
func mutate(g *fzGen, h []history.Event, n int) []history.Event {
	for range n {
		if len(h) == 0 {
			return h
		}
		i := g.r.intn(len(h))
		ev := &h[i]
		switch g.r.intn(12) {
		case 0:
			ev.Kind = history.Kind(g.r.byte() % 40)
		case 1:
			ev.ScheduleID = int64(g.r.intn(30)) - 2
		case 2:
			ev.ID = int64(g.r.intn(40)) - 2
		case 3:
			h = append(h[:i:i], h[i+1:]...)
		case 4:
			h = append(h[:i+1:i+1], h[i:]...)
		case 5:
			if i+1 < len(h) {
				h[i], h[i+1] = h[i+1], h[i]
			}
		case 6:
			ev.Name = g.name()
		case 7:
			ev.Args = [][]byte{g.payload()}
			ev.Result = g.payload()
		case 8:
			h = h[:i]
		case 9:
			ev.Failure = fzFailures[g.r.intn(len(fzFailures))]
		case 10:
			ev.Version = g.r.intn(6) - 2
		case 11:
			h = append(h, g.any(true))
		}
	}
	return h
}

// --- the fuzz targets ---

// FuzzExecutorReplay replays histories. Most inputs first run a real
// executor with fuzz-chosen inbound events (answers to its pending
// commands, signals, cancels, duplicates, …) and record its commits; the
// recorded history is then mutated (or not) and replayed on a fresh
// executor, which then takes more events and is queried. Other inputs
// replay a history made of arbitrary events. An unmutated history must
// replay to the same state: the executor is deterministic.
func FuzzExecutorReplay(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 0})
	f.Add([]byte{1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte("\x02\x00\x00\x00\x00\x07\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x06\x01\x00\x00\x04\x05\x00\x08\x01\x02\x03\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00"))
	f.Add([]byte("\x0a\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0b\x00\x00\x00\x00\x0c\x00\x00\x00\x00"))
	f.Add([]byte("\x03\x02\x03\x0c\x01\x02\x0e\x0e\x0e\x0e\x0d\x01\xff\xfe\x80\x40\x20\x10\x08\x04\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		withDeadline(t, func() { replayInput(t, data) })
	})
}

func replayInput(t *testing.T, data []byte) {
	r := &fzReader{data: data}
	g := &fzGen{r: r, now: fzEpoch}
	mode := r.byte()
	var h []history.Event
	commits := []int{0} // where each commit of h ends
	mutations := -1     // arbitrary history
	ref := struct {
		length int64
		final  history.Event
		done   bool
	}{}
	if mode%4 != 1 {
		// Record a real run.
		ex := fzExecutor()
		events := []history.Event{g.started()}
		for step := 0; step < 40; step++ {
			out, err := execute(t, ex, events)
			if err != nil {
				break
			}
			if len(out) > 0 {
				h = append(h, roundTrip(t, out)...)
				commits = append(commits, len(h))
			}
			if _, done := ex.Final(); done || !r.more() {
				break
			}
			events = g.next(ex, false)
		}
		query(ex, g)
		// What was committed: a task that failed is not part of it,
		// even if the executor got partway.
		ref.length = int64(len(h))
		if len(h) > 0 && h[len(h)-1].Kind.Final() {
			ref.final, ref.done = h[len(h)-1], true
		}
		ex.Close()
		mutations = r.intn(4)
		h = mutate(g, h, mutations)
	} else {
		for range r.intn(24) {
			ev := g.any(true)
			ev.ID = int64(len(h) + 1)
			if r.intn(8) == 0 {
				ev.ID = int64(r.intn(30))
			}
			h = append(h, ev)
			commits = append(commits, len(h))
		}
	}

	// Replay, in two parts split between commits, as a worker does with
	// commits it has not seen, then go on with more events.
	ex := fzExecutor()
	defer ex.Close()
	split := min(commits[r.intn(len(commits))], len(h))
	err := ex.Replay(h[:split])
	if err == nil {
		err = ex.Replay(h) // the first part again: skipped
	}
	checkClear(t, "Replay", err)
	if mutations == 0 && err != nil && !isBlocked(err) {
		t.Fatalf("a history the executor made does not replay: %v", err)
	}
	if mutations == 0 && err == nil {
		final, done := ex.Final()
		if ex.HistoryLength() != ref.length || done != ref.done || final.Kind != ref.final.Kind {
			t.Fatalf("replayed to length %d, final %v (%v); the run had length %d, final %v (%v)",
				ex.HistoryLength(), final.Kind, done, ref.length, ref.final.Kind, ref.done)
		}
	}
	if err != nil {
		if ex.Err() == nil {
			t.Fatalf("Replay failed (%v) but the executor reports no error", err)
		}
		if _, xerr := ex.Execute([]history.Event{g.any(false)}); xerr == nil {
			t.Fatalf("an executor whose Replay failed (%v) executed events", err)
		}
		query(ex, g)
		return
	}
	for step := 0; step < 8 && r.more(); step++ {
		if _, err := execute(t, ex, g.next(ex, true)); err != nil {
			break
		}
	}
	query(ex, g)
}

// FuzzExecutorExecute feeds arbitrary inbound events (and some that are
// not inbound) to a fresh executor, task after task.
func FuzzExecutorExecute(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte("\x00\x00\x00\x00\x00\x0d\x00\x0d\x00\x0d\x00\x0d\x00\x0d\x00\x0d"))
	f.Add([]byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		withDeadline(t, func() { executeInput(t, data) })
	})
}

func executeInput(t *testing.T, data []byte) {
	r := &fzReader{data: data}
	g := &fzGen{r: r, now: fzEpoch}
	ex := fzExecutor()
	defer ex.Close()
	var events []history.Event
	if r.intn(4) != 0 {
		events = append(events, g.started())
	}
	for step := 0; step < 40; step++ {
		if _, err := execute(t, ex, events); err != nil {
			if ex.Err() == nil && !errors.Is(err, engine.ErrRunFinished) && !errors.Is(err, engine.ErrBadHistory) {
				t.Fatalf("Execute failed (%v) but the executor reports no error", err)
			}
			if !errors.Is(err, engine.ErrBadHistory) {
				break
			}
		}
		if step%4 == 3 {
			query(ex, g)
		}
		if !r.more() {
			break
		}
		events = nil
		for range 1 + r.intn(4) {
			if r.intn(3) == 0 {
				events = append(events, g.next(ex, true)...)
			} else {
				events = append(events, g.any(true))
			}
		}
	}
	query(ex, g)
	ex.Close()
	if _, err := ex.Execute(nil); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Execute after Close: %v, want ErrClosed", err)
	}
}
