package engine

import (
	"context"
	"log/slog"
)

// replayFilter drops every record while the run replays, so each line of
// workflow logging is written once: when the code first runs.
type replayFilter struct {
	inner     slog.Handler
	replaying *bool
}

func (h *replayFilter) Enabled(ctx context.Context, level slog.Level) bool {
	return !*h.replaying && h.inner.Enabled(ctx, level)
}

func (h *replayFilter) Handle(ctx context.Context, r slog.Record) error {
	if *h.replaying {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *replayFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &replayFilter{inner: h.inner.WithAttrs(attrs), replaying: h.replaying}
}

func (h *replayFilter) WithGroup(name string) slog.Handler {
	return &replayFilter{inner: h.inner.WithGroup(name), replaying: h.replaying}
}
