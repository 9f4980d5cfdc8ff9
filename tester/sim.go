package tester

import (
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/internal/runopts"
)

// The states of an env.
const (
	stateSetUp = iota
	stateExecuting
	stateDone
)

// env is the part of a WorkflowTester that does not depend on its result
// type: the configuration, the mocks and registrations, and, during Execute,
// the simulated world the workflow runs in: its runs (the workflow under
// test, its sub-workflows, their continued runs), the mock clock, the
// queue of things due at a mock time, and the activities running in wall
// time.
//
// mu guards now, state and requests, which any goroutine may reach. The
// fields after them are touched only by the goroutine that runs Execute
// (the driver), and by the methods that read the outcome after it.
type env struct {
	cfg    config
	conv   converter.Converter
	log    *slog.Logger
	wf     any
	wfName string

	reg      *registry.Registry      // the workflows and activities that run for real
	wfTypes  map[string]reflect.Type // signatures, for decoding mock arguments
	actTypes map[string]reflect.Type
	// pending are the activity calls left for CompleteActivity, by token.
	pending map[string]*activityTask
	actMock *mock.Mock
	wfMock  *mock.Mock
	sigMock *mock.Mock

	mu       sync.Mutex
	now      time.Time
	state    int
	requests []func()      // work for the driver, from any goroutine
	wake     chan struct{} // pokes a driver waiting in wall time

	due      dueQueue
	seq      uint64
	runs     []*run
	current  map[string]*run // the latest run of each instance
	root     *run            // the latest run of the workflow under test
	runSeq   int             // numbers the runs: their execution IDs are unique in the test
	inboxSeq int64
	// updates are the updates sent with UpdateWorkflow, by update ID.
	updates   map[string]*Update
	updateSeq int64
	results   chan attemptResult
	stop      chan struct{} // closed when Execute returns
	running   map[*activityTask]time.Time
	rtWall    time.Time // while activities run, mock time follows the wall
	rtMock    time.Time // clock from this pair on
	deadline  time.Time
	setupErr  error  // the first failure of the test's setup
	err       error  // the first failure of the test itself
	waiting   string // what an unfinished workflow waits for

	// localFail is a failure found while a local activity ran.
	localFail localFailure
}

// run is one run of a workflow instance, driven by its own executor.
type run struct {
	instanceID  string
	executionID string
	name        string
	registry    engine.Registry
	ex          *engine.Executor // nil once closed
	started     history.Event
	inbox       []history.Event
	history     []history.Event
	final       *history.Event
	timers      map[int64]*dueItem
	activities  map[int64]*activityTask
	children    map[int64]*run
}

func (r *run) String() string {
	return fmt.Sprintf("workflow %s (instance %q, run %q)", r.name, r.instanceID, r.executionID)
}

// Workflow implements engine.Registry with the registered workflows.
func (e *env) Workflow(name string) (any, bool) {
	return e.reg.Workflow(name)
}

// request hands fn to the driver, which runs it at the current mock time
// (before Execute: right after the workflow starts).
func (e *env) request(what string, fn func()) {
	e.mu.Lock()
	if e.state == stateDone {
		e.mu.Unlock()
		e.log.Warn("tester: ignored a call made after Execute returned", "call", what)
		return
	}
	e.requests = append(e.requests, fn)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *env) takeRequests() {
	e.mu.Lock()
	reqs := e.requests
	e.requests = nil
	e.mu.Unlock()
	for _, fn := range reqs {
		if e.err != nil {
			return
		}
		fn()
	}
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setNow(t time.Time) {
	if !t.After(e.now) {
		return
	}
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

// fail records the first failure of the test itself; Execute stops at the
// next step.
func (e *env) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// execute runs the workflow under test with args until it finishes, waits
// for what nothing in the test will send, or the test fails.
func (e *env) execute(args []any) error {
	e.mu.Lock()
	if e.state != stateSetUp {
		e.mu.Unlock()
		return fmt.Errorf("%w: Execute was called twice; use a new tester for each run", ErrBadSetup)
	}
	e.state = stateExecuting
	e.mu.Unlock()
	defer e.cleanUp()

	if err := funcinfo.CheckArgs(reflect.TypeOf(e.wf), 1, args); err != nil {
		e.fail(fmt.Errorf("%w: Execute: workflow %s %w", ErrBadSetup, e.wfName, err))
		return e.err
	}
	payloads, err := call.EncodeArgs(e.conv, args)
	if err != nil {
		e.fail(fmt.Errorf("%w: Execute: workflow %s: %w", ErrBadSetup, e.wfName, err))
		return e.err
	}
	if e.cfg.timeout > 0 {
		e.deadline = time.Now().Add(e.cfg.timeout)
	}
	e.root = e.startRun(e.cfg.instanceID, e.wfName, e, history.Event{Queue: defaultQueue, Args: payloads})
	e.loop()
	if e.err == nil && e.root.final == nil {
		e.waiting = e.describeWaiting()
	}
	return e.err
}

// loop is the driver: it runs workflow tasks while runs have events, then
// moves the mock clock to whatever is due next. While activities run in
// wall time, mock time follows the wall clock; when nothing runs, it jumps.
func (e *env) loop() {
	for e.err == nil {
		if e.overDeadline() {
			e.fail(e.timeoutError())
			return
		}
		if len(e.running) > 0 {
			e.followWall()
		}
		e.takeRequests()
		if e.drain() || e.err != nil {
			continue
		}
		if e.root.final != nil {
			return
		}
		select {
		case r := <-e.results:
			e.attemptEnded(r)
			continue
		default:
		}
		next := e.due.peek()
		if len(e.running) == 0 {
			if next == nil {
				return // nothing in the test can wake the workflow
			}
			e.fireNext()
			continue
		}
		wallNow := e.rtMock.Add(time.Since(e.rtWall))
		if next != nil && !next.at.After(wallNow) {
			e.fireNext()
			continue
		}
		e.waitWall(next, wallNow)
	}
}

// followWall moves the clock to the wall clock's time, as it runs while
// activities run, but never past what is due next.
func (e *env) followWall() {
	t := e.rtMock.Add(time.Since(e.rtWall))
	if next := e.due.peek(); next != nil && next.at.Before(t) {
		t = next.at
	}
	e.setNow(t)
}

// waitWall waits in wall time for an activity to end, a request, or the
// time next is due, whichever comes first.
func (e *env) waitWall(next *dueItem, wallNow time.Time) {
	var dueC, deadlineC <-chan time.Time
	if next != nil {
		t := time.NewTimer(next.at.Sub(wallNow))
		defer t.Stop()
		dueC = t.C
	}
	if !e.deadline.IsZero() {
		t := time.NewTimer(time.Until(e.deadline))
		defer t.Stop()
		deadlineC = t.C
	}
	select {
	case r := <-e.results:
		e.attemptEnded(r)
	case <-e.wake:
	case <-dueC:
	case <-deadlineC:
	}
}

// drain runs a workflow task for every run with inbound events, until none
// has any. It reports whether it ran any.
func (e *env) drain() bool {
	ran := false
	for e.err == nil {
		progressed := false
		for i := 0; i < len(e.runs) && e.err == nil; i++ {
			r := e.runs[i]
			if len(r.inbox) == 0 || r.final != nil || r.ex == nil {
				continue
			}
			e.task(r)
			progressed, ran = true, true
			e.takeRequests()
			if e.overDeadline() {
				e.fail(e.timeoutError())
			}
		}
		if !progressed {
			break
		}
	}
	return ran
}

// task runs one workflow task of r: its inbound events go to the executor,
// and what the workflow code did in reaction happens in the simulated world.
func (e *env) task(r *run) {
	events := r.inbox
	r.inbox = nil
	out, err := r.ex.Execute(events)
	if lerr := e.localFail.take(); lerr != nil {
		e.fail(lerr)
		return
	}
	if err != nil {
		if errors.Is(err, engine.ErrRunFinished) {
			e.answerUpdates(r, nil, r.ex.LateUpdateAnswers(events))
			return
		}
		e.fail(fmt.Errorf("tester: %v failed: %w", r, err))
		return
	}
	r.history = append(r.history, out...)
	e.answerUpdates(r, out, r.ex.TakeUpdateAnswers())
	for _, ev := range out {
		if e.err != nil {
			return
		}
		e.effect(r, ev)
	}
}

// effect makes an event the workflow produced happen, as the worker's side
// effects do.
func (e *env) effect(r *run, ev history.Event) {
	switch ev.Kind {
	case history.ActivityScheduled:
		e.scheduleActivity(r, ev)
	case history.ActivityCancelRequested:
		e.cancelActivity(r, ev.ScheduleID)
	case history.TimerScheduled:
		id := ev.ID
		r.timers[id] = e.schedule(ev.FireAt, fmt.Sprintf("timer %d of %v", id, r), func() {
			delete(r.timers, id)
			e.deliver(r, history.Event{Kind: history.TimerFired, ScheduleID: id})
		})
	case history.TimerCanceled:
		if it := r.timers[ev.ScheduleID]; it != nil {
			it.dead = true
			delete(r.timers, ev.ScheduleID)
		}
	case history.SubWorkflowScheduled:
		e.startChild(r, ev)
	case history.SubWorkflowCancelRequested:
		e.cancelChild(r, ev)
	case history.SignalWorkflowScheduled:
		e.signalOther(r, ev)
	case history.WorkflowCompleted, history.WorkflowFailed, history.WorkflowCanceled,
		history.WorkflowContinuedAsNew, history.WorkflowTerminated:
		e.finishRun(r, ev)
	}
}

// startRun makes a new run of instance inst and delivers its start event,
// which carries start's Queue, Args, Parent and ContinuedExecutionID.
func (e *env) startRun(inst, name string, reg engine.Registry, start history.Event) *run {
	e.runSeq++
	r := &run{
		instanceID:  inst,
		executionID: fmt.Sprintf("run-%d", e.runSeq),
		name:        name,
		registry:    reg,
		timers:      map[int64]*dueItem{},
		activities:  map[int64]*activityTask{},
		children:    map[int64]*run{},
	}
	ex, err := e.newExecutor(r)
	if err != nil {
		e.fail(fmt.Errorf("tester: %v: %w", r, err))
	}
	r.ex = ex
	start.Kind, start.Name = history.WorkflowStarted, name
	e.runs = append(e.runs, r)
	e.current[inst] = r
	e.deliver(r, start)
	r.started = r.inbox[len(r.inbox)-1]
	if at, f := runopts.Deadline(&r.started); !at.IsZero() {
		// Key 0 is no timer's: the run's deadline dies with its timers.
		r.timers[0] = e.schedule(at, fmt.Sprintf("deadline of %v", r), func() {
			delete(r.timers, 0)
			e.deliver(r, history.Event{Kind: history.WorkflowTimeoutFired, Failure: f})
		})
	}
	return r
}

func (e *env) newExecutor(r *run) (*engine.Executor, error) {
	return engine.NewExecutor(engine.Options{
		InstanceID:  r.instanceID,
		ExecutionID: r.executionID,
		Registry:    r.registry,
		Converter:   e.conv,
		Logger:      e.log,

		ContextPropagators: e.cfg.props,
		LocalActivities:    e.localActivityRunner(),
	})
}

// deliver puts an inbound event in r's inbox, stamped with the mock time.
func (e *env) deliver(r *run, ev history.Event) {
	if r.final != nil {
		return
	}
	e.inboxSeq++
	ev.Time = e.now
	ev.ExecutionID = r.executionID
	ev.InboxID = fmt.Sprintf("tester:%d", e.inboxSeq)
	r.inbox = append(r.inbox, ev)
}

// finishRun ends r with its final event: it stops what r still has going,
// answers r's parent, or starts the next run after a continue-as-new.
func (e *env) finishRun(r *run, final history.Event) {
	r.final = &final
	for _, it := range r.timers {
		it.dead = true
	}
	for _, t := range r.activities {
		t.abandon()
	}
	if final.Kind != history.WorkflowContinuedAsNew {
		e.closeChildren(r, final)
	}
	if e.cfg.replayCheck {
		e.checkReplay(r)
	}
	if r != e.root {
		r.ex.Close()
		r.ex = nil
	}
	if at, retry := runopts.Retry(&r.started, &final); retry {
		// As the worker does: a new run of the instance after the
		// backoff, with the same arguments; the parent hears of the last.
		// (Only sub-workflows have run options in the tester.)
		e.schedule(at, fmt.Sprintf("retry of %v", r), func() {
			e.startRun(r.instanceID, r.name, r.registry, history.Event{
				Queue:                r.started.Queue,
				Args:                 r.started.Args,
				Parent:               r.started.Parent,
				ContinuedExecutionID: r.executionID,
				Run:                  runopts.Next(&r.started, true, at),
				Memo:                 r.started.Memo,
				Header:               r.started.Header,
			})
		})
		return
	}
	if final.Kind == history.WorkflowContinuedAsNew && (r != e.root || e.cfg.followCAN) {
		next := e.startRun(r.instanceID, r.name, r.registry, history.Event{
			Queue:                r.started.Queue,
			Args:                 final.Args,
			Parent:               r.started.Parent,
			ContinuedExecutionID: r.executionID,
			Run:                  runopts.Next(&r.started, false, e.now),
			Memo:                 r.started.Memo,
			Header:               r.started.Header,
		})
		if r == e.root {
			r.ex.Close()
			r.ex = nil
			e.root = next
		}
		return
	}
	p := r.started.Parent
	if p == nil {
		return
	}
	parent := e.findRun(p.InstanceID, p.ExecutionID)
	if parent == nil {
		return
	}
	answer := history.Event{Kind: history.SubWorkflowCompleted, ScheduleID: p.ScheduleID, Result: final.Result}
	if final.Kind != history.WorkflowCompleted {
		answer = history.Event{Kind: history.SubWorkflowFailed, ScheduleID: p.ScheduleID, Failure: final.RunFailure()}
	}
	e.deliver(parent, answer)
}

// checkReplay replays r's history on a fresh executor and fails the test
// if the workflow code does not do the same again.
func (e *env) checkReplay(r *run) {
	ex, err := e.newExecutor(r)
	if err != nil {
		e.fail(fmt.Errorf("tester: replay check of %v: %w", r, err))
		return
	}
	defer ex.Close()
	if err := ex.Replay(r.history); err != nil {
		e.fail(fmt.Errorf("tester: replaying the history of %v failed, so a worker that replays it (after a restart or a cache miss) would fail too: %w", r, err))
		return
	}
	if f, ok := ex.Final(); !ok || f.Kind != r.final.Kind || f.ID != r.final.ID {
		e.fail(fmt.Errorf("tester: replaying the history of %v did not end it with %v (event %d) again", r, r.final.Kind, r.final.ID))
	}
}

func (e *env) findRun(inst, execution string) *run {
	for _, r := range e.runs {
		if r.instanceID == inst && r.executionID == execution {
			return r
		}
	}
	return nil
}

// cleanUp ends Execute: running activities are canceled, their goroutines
// released, and the executors closed (queries replay from then on).
func (e *env) cleanUp() {
	e.mu.Lock()
	e.state = stateDone
	e.mu.Unlock()
	if e.stop != nil {
		close(e.stop)
	}
	for t := range e.running {
		t.abandon()
	}
	for _, r := range e.runs {
		if r.ex != nil {
			r.ex.Close()
			r.ex = nil
		}
	}
}

func (e *env) overDeadline() bool {
	return !e.deadline.IsZero() && time.Now().After(e.deadline)
}

func (e *env) timeoutError() error {
	if len(e.running) > 0 {
		e.followWall()
	}
	return fmt.Errorf("%w: Execute ran for %v of wall time (see WithTestTimeout) and %v has not finished; "+
		"mock time is %v (%v after the start); %s",
		ErrTestTimeout, e.cfg.timeout, e.root, e.now.Format(time.RFC3339Nano), e.now.Sub(e.cfg.start), e.describeWaiting())
}

// describeWaiting says what the workflow under test (and its children)
// wait for, for messages.
func (e *env) describeWaiting() string {
	var parts []string
	for t, since := range e.running {
		parts = append(parts, fmt.Sprintf("activity %s (event %d of instance %q, attempt %d) has been running for %v of wall time",
			t.ev.Name, t.ev.ID, t.run.instanceID, t.attempt, time.Since(since).Round(time.Millisecond)))
	}
	for _, r := range e.runs {
		if r.final != nil || r.ex == nil {
			continue
		}
		var pending []string
		for _, p := range r.ex.Pending() {
			pending = append(pending, describePending(p))
		}
		if len(pending) == 0 {
			parts = append(parts, fmt.Sprintf("%v waits for a signal or a cancel (it has nothing scheduled)", r))
		} else {
			parts = append(parts, fmt.Sprintf("%v waits for %s", r, strings.Join(pending, ", ")))
		}
	}
	if next := e.due.peek(); next != nil {
		parts = append(parts, fmt.Sprintf("next due: %s at %v", next.what, next.at.Format(time.RFC3339Nano)))
	}
	if len(parts) == 0 {
		return "nothing is pending"
	}
	return strings.Join(parts, "; ")
}

func describePending(p engine.PendingCommand) string {
	ev := p.Event
	var s string
	switch ev.Kind {
	case history.ActivityScheduled:
		s = fmt.Sprintf("activity %s (event %d)", ev.Name, ev.ID)
	case history.TimerScheduled:
		s = fmt.Sprintf("a timer due at %v (event %d)", ev.FireAt.Format(time.RFC3339Nano), ev.ID)
	case history.SubWorkflowScheduled:
		s = fmt.Sprintf("sub-workflow %s, instance %q (event %d)", ev.Name, ev.InstanceID, ev.ID)
	case history.SignalWorkflowScheduled:
		s = fmt.Sprintf("the delivery of signal %q to instance %q (event %d)", ev.Name, ev.InstanceID, ev.ID)
	default:
		s = fmt.Sprintf("%v (event %d)", ev.Kind, ev.ID)
	}
	if p.CancelRequested {
		s += " whose cancellation was requested"
	}
	return s
}

// dueItem is something that happens at a mock time: a timer, a callback, an
// activity retry, the end of an activity attempt.
type dueItem struct {
	at   time.Time
	seq  uint64
	what string
	fire func()
	dead bool
}

// schedule makes fn happen at mock time at (at once if at has passed).
// Items due at the same time happen in the order they were scheduled.
func (e *env) schedule(at time.Time, what string, fn func()) *dueItem {
	e.seq++
	it := &dueItem{at: at, seq: e.seq, what: what, fire: fn}
	heap.Push(&e.due, it)
	return it
}

// fireNext moves the clock to the next item due and makes it happen.
func (e *env) fireNext() {
	it := heap.Pop(&e.due).(*dueItem)
	e.setNow(it.at)
	it.fire()
}

// dueQueue is a min-heap of items by time, then by scheduling order.
type dueQueue []*dueItem

func (q dueQueue) Len() int { return len(q) }

func (q dueQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}

func (q dueQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *dueQueue) Push(x any) { *q = append(*q, x.(*dueItem)) }

func (q *dueQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return it
}

// peek returns the next live item, dropping dead ones, or nil.
func (q *dueQueue) peek() *dueItem {
	for q.Len() > 0 {
		if it := (*q)[0]; !it.dead {
			return it
		}
		heap.Pop(q)
	}
	return nil
}
