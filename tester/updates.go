package tester

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/call"
)

// ErrUpdateRejected is the error of an update the workflow rejected (its
// validator returned an error, or it has no handler of that name), as
// client.ErrUpdateRejected is for a real run.
var ErrUpdateRejected = errors.New("update rejected")

// ErrUpdateNotAnswered is UpdateResult's error for an update the run has
// not answered (yet).
var ErrUpdateNotAnswered = errors.New("update not answered")

// ErrRunFinished is the error of an update the run did not complete because
// it ended first (client.ErrInstanceFinished for a real run).
var ErrRunFinished = errors.New("the run finished before the update completed")

// Update is an update sent to the workflow under test with UpdateWorkflow.
// The run answers it as a worker would; read the answer with UpdateResult
// (or Done and Err) from a later callback or after Execute.
type Update struct {
	name string
	id   string
	conv converter.Converter

	mu     sync.Mutex
	done   bool
	result []byte
	err    error
}

// Done reports whether the run has answered the update.
func (u *Update) Done() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.done
}

// Err is the update's error: nil for an update that completed without an
// error; an error matching ErrUpdateRejected for a rejection (with the
// reason), ErrRunFinished, the handler's error (a *workflow.Error, as a
// client gets it), or ErrUpdateNotAnswered.
func (u *Update) Err() error {
	_, err := u.outcome()
	return err
}

func (u *Update) outcome() ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.done {
		return nil, fmt.Errorf("tester: update %q (ID %q): %w", u.name, u.id, ErrUpdateNotAnswered)
	}
	return u.result, u.err
}

func (u *Update) settle(result []byte, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.done {
		u.done, u.result, u.err = true, result, err
	}
}

// UpdateResult returns the update's result decoded into R, or its error
// (see Update.Err).
func UpdateResult[R any](u *Update) (R, error) {
	var v R
	b, err := u.outcome()
	if err != nil {
		return v, err
	}
	if len(b) > 0 {
		if err := u.conv.Decode(b, &v); err != nil {
			return v, fmt.Errorf("tester: update %q: decode result into %T: %w", u.name, v, err)
		}
	}
	return v, nil
}

// UpdateWorkflow sends the update name with args to the workflow under
// test at the current mock time, as client.UpdateWorkflow does: the
// validator runs, a rejection records nothing, an accepted update's
// handler runs as workflow code. Call it from a callback
// (ScheduleCallback), or from an activity. The returned Update is answered
// as the run goes on.
func (wt *WorkflowTester[T]) UpdateWorkflow(name string, args ...any) *Update {
	e := wt.e
	u := &Update{name: name, conv: e.conv}
	e.request("UpdateWorkflow", func() {
		e.updateSeq++
		u.id = fmt.Sprintf("tester-update-%d", e.updateSeq)
		r := e.root
		if r == nil || r.final != nil {
			u.settle(nil, fmt.Errorf("tester: update %q: %w", name, ErrRunFinished))
			return
		}
		payloads, err := call.EncodeArgs(e.conv, args)
		if err != nil {
			u.settle(nil, fmt.Errorf("tester: update %q: %w", name, err))
			return
		}
		if e.updates == nil {
			e.updates = map[string]*Update{}
		}
		e.updates[u.id] = u
		e.deliver(r, history.Event{Kind: history.UpdateRequested, Name: name, UpdateID: u.id, Args: payloads})
	})
	return u
}

// answerUpdates settles the updates a task of r answered: completions from
// its output, the rest from the executor.
func (e *env) answerUpdates(r *run, out []history.Event, answers []engine.UpdateAnswer) {
	for _, ev := range out {
		if ev.Kind != history.UpdateCompleted {
			continue
		}
		if u := e.updates[ev.UpdateID]; u != nil {
			u.settle(ev.Result, engine.ErrorFromFailure(ev.Failure))
		}
	}
	for _, a := range answers {
		u := e.updates[a.UpdateID]
		if u == nil {
			continue
		}
		switch {
		case a.Completed:
			u.settle(a.Result, engine.ErrorFromFailure(a.Failure))
		case a.Rejected != "":
			u.settle(nil, fmt.Errorf("tester: update %q: %w: %s", u.name, ErrUpdateRejected, a.Rejected))
		case a.Finished:
			u.settle(nil, fmt.Errorf("tester: update %q: %w", u.name, ErrRunFinished))
		}
	}
}
