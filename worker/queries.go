package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/workflow"
)

// serveQueries answers the queries of a queue's instances; it returns the
// function that stops answering.
func (w *Worker) serveQueries(queue string) (func() error, error) {
	sub, err := w.b.ServeQueries(queue, w.tracedQuery)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return sub.Unsubscribe, nil
}

// errQueryBlocked is the answer of a query handler that did not return in
// time.
var errQueryBlocked = errors.New("worker: the query handler did not return in time")

// answerQuery asks the run's cached executor when it is cached, idle and
// current (it has seen the history's last commit), and otherwise replays
// the run on a fresh executor and asks that.
func (w *Worker) answerQuery(req *streams.QueryRequest) *streams.QueryResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := func(typ, format string, args ...any) *streams.QueryResponse {
		return &streams.QueryResponse{Failure: &history.Failure{Type: typ, Message: fmt.Sprintf(format, args...)}}
	}
	failed := func(err error) *streams.QueryResponse {
		if errors.Is(err, streams.ErrPayloadUnavailable) {
			attrs := []any{logkey.Instance, req.InstanceID, "query", req.Name, logkey.Err, err}
			if knf, ok := errors.AsType[*codec.KeyNotFoundError](err); ok {
				attrs = append(attrs, logkey.KeyID, knf.KeyID)
			}
			w.log.Warn("query cannot be answered: a payload cannot be read by this worker", attrs...)
		}
		return streams.NewQueryFailure(engine.FailureFromError(err), err)
	}
	run := req.ExecutionID
	if run == "" {
		rec, err := w.b.GetInstance(ctx, req.InstanceID)
		if err != nil {
			return failed(err)
		}
		run = rec.ExecutionID
	}
	if result, ok, err := w.queryCached(ctx, req, run); ok {
		if err != nil {
			return failed(err)
		}
		return &streams.QueryResponse{Result: result}
	}

	w.queryReplays.Add(1)
	h, err := w.b.ReadHistory(ctx, req.InstanceID, run)
	if err != nil {
		return failed(err)
	}
	if len(h.Commits) == 0 {
		return fail(workflow.ErrTypeNotStarted, "run %s of %q has not started yet", run, req.InstanceID)
	}
	events := h.Events()
	if _, ok := w.reg.Workflow(events[0].Name); !ok {
		return fail(workflow.ErrTypeUnknownWorkflow, "workflow %q is not registered with the worker that got the query", events[0].Name)
	}
	ex, err := w.newExecutor(req.InstanceID, run, "", nil, nil)
	if err != nil {
		return failed(err)
	}
	if err := ex.Replay(events); err != nil {
		ex.Close()
		return failed(err)
	}
	result, blocked, err := w.askExecutor(ex, req)
	if !blocked {
		ex.Close()
	}
	if err != nil {
		return failed(err)
	}
	return &streams.QueryResponse{Result: result}
}

// queryCached answers from the run's cached executor; ok is false when
// there is none to use: not cached, in use by a task, or behind the
// history (another worker committed since). While the query runs, the
// executor is lent to it, so the run's next task waits for it.
//
// Query handlers only read (engine.Executor.Query refuses workflow calls
// in them), but one that fails or blocks may have left the executor in
// any state, so after any error but an unknown query name the executor
// leaves the cache; the next task replays.
func (w *Worker) queryCached(ctx context.Context, req *streams.QueryRequest, run string) (result []byte, ok bool, err error) {
	cr := w.cache.lend(runKey{req.InstanceID, run})
	if cr == nil {
		return nil, false, nil
	}
	// Current? One direct get: nothing after the last commit it saw.
	h, err := w.b.ReadHistoryAfter(ctx, req.InstanceID, run, cr.lastSeq)
	if err != nil || len(h.Commits) > 0 {
		// Behind (or unknown): the run's next task finds out by its
		// commit's sequence check, as ever.
		if w.cache.giveBack(cr, true) {
			cr.ex.Close()
		}
		return nil, false, nil
	}
	result, blocked, err := w.askExecutor(cr.ex, req)
	clean := !blocked && (err == nil || errors.Is(err, engine.ErrUnknownQuery))
	if w.cache.giveBack(cr, clean) && !blocked {
		cr.ex.Close()
	}
	return result, true, err
}

// askExecutor runs the query on ex in a goroutine of its own and waits for
// the handler at most BlockedTimeout. A handler still running then is
// abandoned (blocked is true): ex is closed when it returns, if ever, and
// must not be used or closed by the caller.
func (w *Worker) askExecutor(ex *engine.Executor, req *streams.QueryRequest) (result []byte, blocked bool, err error) {
	type answer struct {
		result []byte
		err    error
	}
	answers := make(chan answer, 1)
	var mu sync.Mutex
	var finished, abandoned bool
	go func() {
		result, err := ex.Query(req.Name, req.Args)
		mu.Lock()
		finished = true
		if abandoned {
			mu.Unlock()
			ex.Close()
			return
		}
		mu.Unlock()
		answers <- answer{result, err}
	}()
	wait := w.opts.BlockedTimeout
	if wait <= 0 {
		wait = engine.DefaultBlockedTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a := <-answers:
		return a.result, false, a.err
	case <-t.C:
	}
	mu.Lock()
	if finished {
		mu.Unlock()
		a := <-answers
		return a.result, false, a.err
	}
	abandoned = true
	mu.Unlock()
	return nil, true, fmt.Errorf("%w (query %q, %s)", errQueryBlocked, req.Name, wait)
}
