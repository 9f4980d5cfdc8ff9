package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
)

// serveQueries answers the queries of a queue's instances; it returns the
// function that stops answering.
func (w *Worker) serveQueries(queue string) (func() error, error) {
	sub, err := w.b.ServeQueries(queue, w.answerQuery)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return sub.Unsubscribe, nil
}

// answerQuery replays the run on a fresh executor and asks it. A fresh one
// never races a task running on the cached executor of the same run.
func (w *Worker) answerQuery(req *streams.QueryRequest) *streams.QueryResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := func(typ, format string, args ...any) *streams.QueryResponse {
		return &streams.QueryResponse{Failure: &history.Failure{Type: typ, Message: fmt.Sprintf(format, args...)}}
	}
	run := req.ExecutionID
	if run == "" {
		rec, err := w.b.GetInstance(ctx, req.InstanceID)
		if err != nil {
			return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
		}
		run = rec.ExecutionID
	}
	h, err := w.b.ReadHistory(ctx, req.InstanceID, run)
	if err != nil {
		return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
	}
	if len(h.Commits) == 0 {
		return fail("NotStarted", "run %s of %q has not started yet", run, req.InstanceID)
	}
	events := h.Events()
	if _, ok := w.reg.Workflow(events[0].Name); !ok {
		return fail("UnknownWorkflow", "workflow %q is not registered with the worker that got the query", events[0].Name)
	}
	ex, err := w.newExecutor(req.InstanceID, run)
	if err != nil {
		return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
	}
	defer ex.Close()
	if err := ex.Replay(events); err != nil {
		return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
	}
	result, err := ex.Query(req.Name, req.Args)
	if err != nil {
		return &streams.QueryResponse{Failure: engine.FailureFromError(err)}
	}
	return &streams.QueryResponse{Result: result}
}
