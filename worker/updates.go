package worker

import (
	"log/slog"

	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// answerUpdates sends update callers the answers a task produced that its
// commit does not carry (rejections, outcomes asked for again, a run that
// ended first). A notice lost here is not lost for the caller: it finds
// an outcome in the history and a finished run in the registry, and asks
// again for a rejection.
func (w *Worker) answerUpdates(inst, run string, answers []engine.UpdateAnswer, log *slog.Logger) {
	for _, a := range answers {
		err := w.b.PublishUpdateNotice(streams.UpdateNotice{
			InstanceID: inst, ExecutionID: run, UpdateID: a.UpdateID,
			Rejected: a.Rejected, Finished: a.Finished, Completed: a.Completed, Result: a.Result, Failure: a.Failure,
		})
		if err != nil {
			log.Warn("could not answer an update's caller", "update_id", a.UpdateID, logkey.Err, err)
		}
	}
}
