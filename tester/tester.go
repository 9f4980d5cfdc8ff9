package tester

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// WorkflowTester runs one workflow in memory, with its activities and
// sub-workflows mocked or registered, on a mock clock. T is the type of the
// workflow's result (use any, or struct{}, for a workflow that returns
// only an error).
//
// Set it up (mocks, registrations, callbacks, signals), call Execute once,
// then look at the outcome. Execute runs on the caller's goroutine, and so
// do the callbacks; SignalWorkflow, SignalWorkflowInstance, CancelWorkflow,
// ScheduleCallback and Now may also be called from other goroutines (an
// activity, say). The other methods must not be called while Execute runs,
// except from a callback.
type WorkflowTester[T any] struct {
	e *env
}

// NewWorkflowTester returns a tester for workflow wf: a function
// func(workflow.Context, args...) error or (T, error), registered under its
// name (or WithWorkflowName's) so that it can also start itself as a
// sub-workflow.
func NewWorkflowTester[T any](wf any, opts ...Option) *WorkflowTester[T] {
	cfg := config{timeout: DefaultTestTimeout, instanceID: DefaultInstanceID}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.start.IsZero() {
		cfg.start = time.Now().UTC()
	}
	e := &env{
		cfg:      cfg,
		conv:     cfg.conv,
		log:      cfg.logger,
		wf:       wf,
		reg:      registry.New(),
		wfTypes:  map[string]reflect.Type{},
		actTypes: map[string]reflect.Type{},
		pending:  map[string]*activityTask{},
		actMock:  &mock.Mock{},
		wfMock:   &mock.Mock{},
		sigMock:  &mock.Mock{},
		now:      cfg.start,
		wake:     make(chan struct{}, 1),
		current:  map[string]*run{},
		results:  make(chan attemptResult),
		stop:     make(chan struct{}),
		running:  map[*activityTask]time.Time{},
	}
	if e.conv == nil {
		e.conv = converter.Default
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	wt := &WorkflowTester[T]{e: e}
	if cfg.tb != nil {
		cfg.tb.Helper()
	}
	if err := registry.CheckWorkflow(wf); err != nil {
		e.setupFailed(fmt.Errorf("%w: NewWorkflowTester: %w", ErrBadSetup, err))
		return wt
	}
	e.wfName = cfg.name
	if e.wfName == "" {
		name, err := registry.Name(wf)
		if err != nil {
			name = "workflow" // an anonymous function: nothing can call it by name
		}
		e.wfName = name
	}
	typ := reflect.TypeOf(wf)
	if rt, want := funcinfo.ResultType(typ), reflect.TypeFor[T](); rt != nil && want.Kind() != reflect.Interface {
		if err := funcinfo.Fits(rt, want); err != nil {
			e.setupFailed(fmt.Errorf("%w: NewWorkflowTester[%v]: workflow %s returns %v, which does not fit %v",
				ErrBadSetup, want, e.wfName, rt, want))
			return wt
		}
	}
	if _, err := e.reg.AddWorkflow(wf, e.wfName); err != nil {
		e.setupFailed(fmt.Errorf("%w: NewWorkflowTester: %w", ErrBadSetup, err))
		return wt
	}
	e.wfTypes[e.wfName] = typ
	return wt
}

// OnActivity sets up a mock of activity, a function
// func(context.Context, args...) error or (T, error) (a method value such
// as a.Activity2 with a nil *Activities will do) or its registered name,
// and returns the testify expectation to complete with Return. The first
// of args stands for the activity's context (pass mock.Anything); the
// others are compared with the call's arguments, converted to the
// parameter types (so 35 matches an int64 parameter too).
//
// Return takes the activity's result and error, only its error for an
// activity that returns only an error, or a function with the activity's
// signature to run in its place (then in wall time, like a registered
// activity). A mocked activity takes no mock time and is retried as the
// worker retries it when it returns an error. A mock for a name takes
// precedence over an activity registered under it.
//
// A call that no expectation matches fails the test, naming the activity
// and its arguments (ErrUnexpectedCall).
func (wt *WorkflowTester[T]) OnActivity(activity any, args ...any) *mock.Call {
	e := wt.e
	if e.cfg.tb != nil {
		e.cfg.tb.Helper()
	}
	name, typ, err := callableInfo("OnActivity", activity, registry.CheckActivity)
	if err == nil && typ != nil {
		args, err = fitExpected("OnActivity", name, typ, args)
	}
	if err != nil {
		e.setupFailed(err)
		return new(mock.Mock).On("invalid", args...)
	}
	if typ != nil {
		e.actTypes[name] = typ
	}
	return e.actMock.On(name, args...)
}

// OnActivityByName sets up a mock of the activity registered as name, for
// activities the workflow calls by name. As the mock does not know the
// activity's signature, it decodes each argument into the type of the value
// expected at its place (or as the converter decodes into any, for
// matchers such as mock.Anything), and takes Return(result, err),
// Return(err) or Return(result). See OnActivity.
func (wt *WorkflowTester[T]) OnActivityByName(name string, args ...any) *mock.Call {
	if wt.e.cfg.tb != nil {
		wt.e.cfg.tb.Helper()
	}
	if name == "" {
		wt.e.setupFailed(fmt.Errorf("%w: OnActivityByName: empty name", ErrBadSetup))
	}
	return wt.e.actMock.On(name, args...)
}

// OnSubWorkflow sets up a mock of sub-workflow wf, a workflow function or
// its registered name, and returns the testify expectation to complete
// with Return. The first of args stands for the sub-workflow's context
// (pass mock.Anything: there is no child run, so the mock gets a nil
// workflow.Context); the others are compared with the call's arguments as
// OnActivity does.
//
// Return takes the sub-workflow's result and error (or only its error), or
// a workflow function with its signature, which then runs as the child in
// its own executor. A mock for a name takes precedence over a workflow
// registered under it.
func (wt *WorkflowTester[T]) OnSubWorkflow(wf any, args ...any) *mock.Call {
	e := wt.e
	if e.cfg.tb != nil {
		e.cfg.tb.Helper()
	}
	name, typ, err := callableInfo("OnSubWorkflow", wf, registry.CheckWorkflow)
	if err == nil && typ != nil {
		args, err = fitExpected("OnSubWorkflow", name, typ, args)
	}
	if err != nil {
		e.setupFailed(err)
		return new(mock.Mock).On("invalid", args...)
	}
	if typ != nil {
		e.wfTypes[name] = typ
	}
	return e.wfMock.On(name, args...)
}

// OnSignalWorkflow sets up a mock of the workflow instance instanceID for
// signals that workflow code sends it with workflow.SignalWorkflow. arg is
// compared with the signal's value, decoded into arg's type (any testify
// matcher will do). Return nothing (or nil) for a delivered signal, or an
// error for the sender's future to fail with.
//
// Without an expectation for an instance, a signal goes to the instance's
// run if the test has one running (a sub-workflow, or the workflow under
// test itself), and otherwise fails with an error matching
// workflow.ErrInstanceNotFound, as it does in production.
func (wt *WorkflowTester[T]) OnSignalWorkflow(instanceID, name string, arg any) *mock.Call {
	return wt.e.sigMock.On(signalMethod, instanceID, name, arg)
}

// RegisterActivity makes the tester run activity a for real when the
// workflow calls it (unless a mock for its name is set up): a function, or
// a pointer to a struct whose exported methods are all activities, named as
// the worker names them. Registered activities run in their own goroutine,
// in wall time, with the worker's retries and timeouts; while they run,
// mock time follows the wall clock.
func (wt *WorkflowTester[T]) RegisterActivity(a any, opts ...RegisterOption) {
	if wt.e.cfg.tb != nil {
		wt.e.cfg.tb.Helper()
	}
	if err := wt.e.registerActivity(a, opts); err != nil {
		wt.e.setupFailed(err)
	}
}

// RegisterWorkflow makes the tester run workflow wf for real when the
// workflow under test starts it as a sub-workflow (unless a mock for its
// name is set up): a child run with its own executor, sharing the tester's
// clock, mocks and registrations.
func (wt *WorkflowTester[T]) RegisterWorkflow(wf any, opts ...RegisterOption) {
	if wt.e.cfg.tb != nil {
		wt.e.cfg.tb.Helper()
	}
	if err := wt.e.registerWorkflow(wf, opts); err != nil {
		wt.e.setupFailed(err)
	}
}

// RegisterDynamicWorkflow registers a catch-all workflow, as
// worker.RegisterDynamicWorkflow: a sub-workflow name with no mock and no
// registered workflow runs it, with the name and the raw arguments.
func (wt *WorkflowTester[T]) RegisterDynamicWorkflow(fn func(ctx workflow.Context, name string, args converter.EncodedValues) (any, error)) {
	if wt.e.cfg.tb != nil {
		wt.e.cfg.tb.Helper()
	}
	if err := wt.e.reg.SetDynamicWorkflow(fn); err != nil {
		wt.e.setupFailed(fmt.Errorf("%w: RegisterDynamicWorkflow: %w", ErrBadSetup, err))
	}
}

// RegisterDynamicActivity registers a catch-all activity, as
// worker.RegisterDynamicActivity: an activity name with no mock and no
// registered activity runs it, with the name and the raw arguments.
func (wt *WorkflowTester[T]) RegisterDynamicActivity(fn func(ctx context.Context, name string, args converter.EncodedValues) (any, error)) {
	if wt.e.cfg.tb != nil {
		wt.e.cfg.tb.Helper()
	}
	if err := wt.e.reg.SetDynamicActivity(fn); err != nil {
		wt.e.setupFailed(fmt.Errorf("%w: RegisterDynamicActivity: %w", ErrBadSetup, err))
	}
}

// ScheduleCallback makes fn run once delay of mock time has passed since
// the call (since the start, when called before Execute). fn runs on
// Execute's goroutine while the workflow waits, so it may signal or cancel
// the workflow, query it, or schedule more callbacks. Callbacks, timers and
// activity retries due at the same mock time happen in the order they were
// scheduled.
func (wt *WorkflowTester[T]) ScheduleCallback(delay time.Duration, fn func()) {
	e := wt.e
	e.request("ScheduleCallback", func() {
		e.schedule(e.now.Add(max(delay, 0)), "a callback", fn)
	})
}

// SignalWorkflow sends the signal name with value to the workflow under
// test, at the current mock time (with its start, when called before
// Execute). A signal for a workflow that has finished is dropped.
func (wt *WorkflowTester[T]) SignalWorkflow(name string, value any) {
	e := wt.e
	e.request("SignalWorkflow", func() { e.signal(e.root, e.cfg.instanceID, name, value) })
}

// SignalWorkflowInstance sends the signal name with value to the running
// instance instanceID of the test: the workflow under test or one of its
// sub-workflows. A signal for an instance that is not running fails the
// test.
func (wt *WorkflowTester[T]) SignalWorkflowInstance(instanceID, name string, value any) {
	e := wt.e
	e.request("SignalWorkflowInstance", func() {
		r := e.current[instanceID]
		if r == nil || r.final != nil {
			e.fail(fmt.Errorf("%w: SignalWorkflowInstance: instance %q is not running at %v",
				ErrBadSetup, instanceID, e.now.Format(time.RFC3339Nano)))
			return
		}
		e.signal(r, instanceID, name, value)
	})
}

// CancelWorkflow asks the workflow under test to cancel, at the current
// mock time, as client.CancelWorkflowInstance does: its context is
// canceled, and a workflow that then returns workflow.Canceled ends as
// canceled.
func (wt *WorkflowTester[T]) CancelWorkflow() {
	e := wt.e
	e.request("CancelWorkflow", func() {
		if e.root != nil {
			e.deliver(e.root, history.Event{Kind: history.CancelRequested})
		}
	})
}

// Execute starts the workflow with args and runs it until it finishes,
// or until it waits for something nothing in the test will send (then
// WorkflowFinished is false). Timers, retries and callbacks are due on
// the mock clock, which jumps from one to the next in no wall time: a
// workflow that sleeps for 30 days runs in milliseconds. While registered
// activities run, mock time follows the wall clock.
//
// A failure of the test itself (an activity or sub-workflow nothing
// expects, the test timeout, a workflow that blocks outside the workflow
// API or does not replay, bad setup) is reported with the testing.TB given
// to WithTB, or else by panicking with the error; Err returns it. Execute
// may be called once.
func (wt *WorkflowTester[T]) Execute(args ...any) {
	e := wt.e
	if e.cfg.tb != nil {
		e.cfg.tb.Helper()
	}
	if e.setupErr != nil {
		e.report(e.setupErr)
		return
	}
	if err := e.execute(args); err != nil {
		e.report(err)
		return
	}
	if e.waiting != "" && e.cfg.tb != nil {
		e.cfg.tb.Logf("tester: Execute returned at mock time %v with the workflow unfinished: %s",
			e.now.Format(time.RFC3339Nano), e.waiting)
	}
}

// Err returns the failure of the test itself that Execute (or the setup)
// reported, or nil.
func (wt *WorkflowTester[T]) Err() error {
	if wt.e.setupErr != nil {
		return wt.e.setupErr
	}
	return wt.e.err
}

// WorkflowFinished reports whether the workflow under test has ended:
// completed, failed, canceled, or continued as new (unless the tester
// follows continued runs).
func (wt *WorkflowTester[T]) WorkflowFinished() bool {
	return wt.e.root != nil && wt.e.root.final != nil
}

// WorkflowResult returns the workflow's result, or its error as a client
// would get it: for an error made with workflow.NewError a *workflow.Error
// of the same type and message, for a panic a *workflow.PanicError, for a
// canceled workflow an error matching workflow.Canceled, for a run that
// continued as new a *ContinuedAsNewError. While the workflow has not
// finished, the error wraps ErrNotFinished and says what it waits for; if
// the test itself failed, it is that failure.
func (wt *WorkflowTester[T]) WorkflowResult() (T, error) {
	var zero T
	e := wt.e
	switch {
	case e.setupErr != nil:
		return zero, e.setupErr
	case e.err != nil:
		return zero, e.err
	case e.root == nil:
		return zero, fmt.Errorf("%w: Execute has not run it", ErrNotFinished)
	case e.root.final == nil:
		return zero, fmt.Errorf("%w: at mock time %v, %s", ErrNotFinished, e.clock().Format(time.RFC3339Nano), e.waiting)
	}
	f := e.root.final
	switch f.Kind {
	case history.WorkflowCompleted:
		var v T
		if len(f.Result) > 0 {
			if err := e.conv.Decode(f.Result, &v); err != nil {
				return zero, fmt.Errorf("tester: decode the result of workflow %s: %w", e.wfName, err)
			}
		}
		return v, nil
	case history.WorkflowContinuedAsNew:
		var typ reflect.Type
		if fn, ok := e.root.registry.Workflow(e.root.name); ok {
			typ = reflect.TypeOf(fn)
		}
		return zero, &ContinuedAsNewError{WorkflowName: e.root.name, Args: e.decodeLoose(typ, f.Args)}
	default:
		return zero, engine.ErrorFromFailure(f.RunFailure())
	}
}

// Now returns the mock clock's time: the start time before Execute, the
// time of what is happening during it (in a callback, the time it was due),
// and the time the workflow finished or began to wait after it.
func (wt *WorkflowTester[T]) Now() time.Time { return wt.e.clock() }

// QueryWorkflow asks the workflow under test the query name with args, as
// client.QueryWorkflow does, and returns the answer to decode with Get.
// Call it from a callback, to see the workflow's state at that mock time,
// or after Execute, to see it at the end.
func (wt *WorkflowTester[T]) QueryWorkflow(name string, args ...any) (EncodedValue, error) {
	e := wt.e
	payloads, err := call.EncodeArgs(e.conv, args)
	if err != nil {
		return EncodedValue{}, fmt.Errorf("tester: QueryWorkflow(%q): %w", name, err)
	}
	r := e.root
	if r == nil {
		return EncodedValue{}, fmt.Errorf("%w: QueryWorkflow(%q): the workflow has not started", ErrNotFinished, name)
	}
	ex := r.ex
	if ex == nil {
		// After Execute: answer from a replay of the run, as a worker does.
		if ex, err = e.newExecutor(r); err != nil {
			return EncodedValue{}, fmt.Errorf("tester: QueryWorkflow(%q): %w", name, err)
		}
		defer ex.Close()
		if err := ex.Replay(r.history); err != nil {
			return EncodedValue{}, fmt.Errorf("tester: QueryWorkflow(%q): replay %v: %w", name, r, err)
		}
	}
	res, err := ex.Query(name, payloads)
	if err != nil {
		return EncodedValue{}, err
	}
	return EncodedValue{data: res, conv: e.conv}, nil
}

// AssertExpectations asserts that every expectation set up with
// OnActivity, OnActivityByName, OnSubWorkflow and OnSignalWorkflow was
// met, as testify's Mock.AssertExpectations does.
func (wt *WorkflowTester[T]) AssertExpectations(t mock.TestingT) bool {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	ok := wt.e.actMock.AssertExpectations(t)
	ok = wt.e.wfMock.AssertExpectations(t) && ok
	return wt.e.sigMock.AssertExpectations(t) && ok
}

// signal delivers a signal to run r of instance inst.
func (e *env) signal(r *run, inst, name string, value any) {
	if r == nil || r.final != nil {
		e.log.Warn("tester: dropped a signal for an instance that is not running", logkey.Instance, inst, logkey.Signal, name)
		return
	}
	payload, err := e.conv.Encode(value)
	if err != nil {
		e.fail(fmt.Errorf("%w: signal %q: encode %T: %w", ErrBadSetup, name, value, err))
		return
	}
	e.deliver(r, history.Event{Kind: history.SignalReceived, Name: name, Args: [][]byte{payload}})
}

// setupFailed records a failure of the test's setup and reports it.
func (e *env) setupFailed(err error) {
	if e.setupErr == nil {
		e.setupErr = err
	}
	e.report(err)
}

// report fails the test with err: through the testing.TB of WithTB, or by
// panicking.
func (e *env) report(err error) {
	if tb := e.cfg.tb; tb != nil {
		tb.Helper()
		tb.Fatal(err)
		return
	}
	panic(err)
}

// callableInfo returns the name of a function or name given to api, and
// the function's type (nil for a name).
func callableInfo(api string, fn any, validate func(any) error) (string, reflect.Type, error) {
	if name, ok := fn.(string); ok {
		if name == "" {
			return "", nil, fmt.Errorf("%w: %s: empty name", ErrBadSetup, api)
		}
		return name, nil, nil
	}
	if err := validate(fn); err != nil {
		return "", nil, fmt.Errorf("%w: %s: %w", ErrBadSetup, api, err)
	}
	name, err := registry.Name(fn)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %w (use the ByName variant, or register the function WithName)", ErrBadSetup, api, err)
	}
	return name, reflect.TypeOf(fn), nil
}

func (e *env) registerActivity(a any, opts []RegisterOption) error {
	rc := registerConfig{}
	for _, o := range opts {
		o(&rc)
	}
	if err := registry.AddActivity(e.reg, a, rc.name, rc.prefix); err != nil {
		return fmt.Errorf("%w: RegisterActivity: %w", ErrBadSetup, err)
	}
	// Remember the signatures, to decode the arguments of mocks by name.
	v := reflect.ValueOf(a)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		for i := range v.NumMethod() {
			e.actTypes[rc.prefix+v.Type().Method(i).Name] = v.Method(i).Type()
		}
		return nil
	}
	name := rc.name
	if name == "" {
		n, _ := registry.Name(a) // AddActivity succeeded: it has one
		name = rc.prefix + n
	}
	e.actTypes[name] = v.Type()
	return nil
}

func (e *env) registerWorkflow(wf any, opts []RegisterOption) error {
	rc := registerConfig{}
	for _, o := range opts {
		o(&rc)
	}
	name := rc.name
	if name == "" && rc.prefix != "" {
		n, err := registry.Name(wf)
		if err != nil {
			return fmt.Errorf("%w: RegisterWorkflow: %w", ErrBadSetup, err)
		}
		name = rc.prefix + n
	}
	name, err := e.reg.AddWorkflow(wf, name)
	if err != nil {
		return fmt.Errorf("%w: RegisterWorkflow: %w", ErrBadSetup, err)
	}
	e.wfTypes[name] = reflect.TypeOf(wf)
	return nil
}
