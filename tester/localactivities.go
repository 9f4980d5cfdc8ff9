package tester

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/actenv"
	"github.com/jetflow/jetflow/internal/actrun"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

// localFailure is a failure of the test found while a local activity ran
// (on a goroutine of the executor's): the driver fails the test with it
// after the task.
type localFailure struct {
	mu  sync.Mutex
	err error
}

func (f *localFailure) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *localFailure) take() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.err
	f.err = nil
	return err
}

// localActivityRunner runs local activities as the worker does, inside
// the task, with the mock clock: an OnActivity mock of the name answers
// (as for an activity), else the registered activity or the function
// given runs. Backoffs inside the task take no mock time (the workflow's
// time stands still during a task, as on a worker); a backoff past the
// threshold waits with a workflow timer, in mock time.
func (e *env) localActivityRunner() engine.LocalActivityRunner {
	clock := actrun.LocalClock{
		Now:   e.clock,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	return func(ctx context.Context, t engine.LocalActivityTask) engine.LocalActivityOutcome {
		mocked := hasExpectations(e.actMock, t.Name)
		var fn any
		if !mocked {
			var ok bool
			fn, ok = e.reg.Activity(t.Name)
			if _, dynamic := fn.(*registry.Dynamic); (!ok || dynamic) && t.Fn != nil {
				fn, ok = t.Fn, true
			}
			if !ok {
				err := fmt.Errorf("%w: workflow %s (instance %q) called local activity %s, which has no mock (OnActivity) and is not registered (RegisterActivity)",
					ErrUnexpectedCall, t.WorkflowName, t.InstanceID, t.Name)
				e.localFail.set(err)
				return engine.LocalActivityOutcome{Attempt: t.Attempt, Err: workflow.NewPermanentError(err)}
			}
		}
		return actrun.RunLocal(ctx, t, clock, func(actx context.Context, n int) ([]byte, error) {
			aenv := &actenv.Env{InstanceID: t.InstanceID, ExecutionID: t.ExecutionID, ActivityName: t.Name,
				Attempt: n, ScheduledAt: t.ScheduledAt, Local: true}
			aenv.Logger = aenv.TaggedLogger(e.log)
			actx = actenv.With(actx, aenv)
			actx, err := workflow.ExtractHeader(actx, e.cfg.props, t.Header)
			if err != nil {
				return nil, workflow.NewPermanentError(fmt.Errorf("local activity %s: context propagation: %w", t.Name, err))
			}
			if !mocked {
				return actrun.Invoke(actx, fn, t.Args, e.conv)
			}
			return e.callLocalMock(actx, t, n)
		})
	}
}

// callLocalMock answers attempt n of a local activity from its OnActivity
// mock.
func (e *env) callLocalMock(ctx context.Context, t engine.LocalActivityTask, n int) ([]byte, error) {
	typ := e.actTypes[t.Name]
	args, err := e.decodeForMock(e.actMock, t.Name, typ, activityContext{ctx}, t.Args)
	if err != nil {
		return nil, workflow.NewPermanentError(err)
	}
	ret, userPanic, unexpected := callMock(e.actMock, t.Name, args)
	if unexpected != "" {
		err := fmt.Errorf("%w: local activity %s%s (attempt %d), called by workflow %s (instance %q), matches no OnActivity expectation\n\n%s",
			ErrUnexpectedCall, t.Name, formatCall(args), n, t.WorkflowName, t.InstanceID, unexpected)
		e.localFail.set(err)
		return nil, workflow.NewPermanentError(err)
	}
	if userPanic != nil {
		return nil, userPanic
	}
	out, err := e.mockOutcome("activity", t.Name, typ, ret, registry.CheckActivity)
	if err != nil {
		e.localFail.set(err)
		return nil, workflow.NewPermanentError(err)
	}
	if out.fn != nil {
		return actrun.Invoke(ctx, out.fn, t.Args, e.conv)
	}
	return out.result, out.err
}
