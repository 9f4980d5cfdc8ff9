package engine

import (
	"context"
	"log/slog"

	"github.com/jetflow/jetflow/internal/coro"
)

// replayFilter drops every record while the run replays, so each line of
// workflow logging is written once: when the code first runs. It also drops
// the records of code the run went on without (see runEnv.enter).
type replayFilter struct {
	inner     slog.Handler
	replaying *bool
	sched     *coro.Scheduler
}

// silent reports whether records are dropped now.
func (h *replayFilter) silent() bool {
	if !h.sched.Enter() {
		return true
	}
	defer h.sched.Leave()
	return *h.replaying
}

func (h *replayFilter) Enabled(ctx context.Context, level slog.Level) bool {
	return !h.silent() && h.inner.Enabled(ctx, level)
}

func (h *replayFilter) Handle(ctx context.Context, r slog.Record) error {
	if h.silent() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *replayFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &replayFilter{inner: h.inner.WithAttrs(attrs), replaying: h.replaying, sched: h.sched}
}

func (h *replayFilter) WithGroup(name string) slog.Handler {
	return &replayFilter{inner: h.inner.WithGroup(name), replaying: h.replaying, sched: h.sched}
}
