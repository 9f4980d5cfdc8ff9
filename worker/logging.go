package worker

import (
	"context"
	"log/slog"
)

// lazyAttrs is a slog.Handler that keeps the attributes given to
// Logger.With and hands them to the handler beneath only when a record is
// logged. The worker makes a logger with the instance and run for every
// task, and most tasks log nothing: formatting those attributes up front
// cost 3% of the worker's CPU.
type lazyAttrs struct {
	inner slog.Handler
	attrs []slog.Attr
}

func newLazyAttrs(h slog.Handler) slog.Handler {
	if l, ok := h.(*lazyAttrs); ok {
		return l
	}
	return &lazyAttrs{inner: h}
}

func (l *lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.inner.Enabled(ctx, level)
}

func (l *lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return l.resolved().Handle(ctx, r)
}

func (l *lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return l
	}
	// A fresh slice: loggers made from the same parent must not share
	// the appended tail.
	all := make([]slog.Attr, 0, len(l.attrs)+len(attrs))
	all = append(append(all, l.attrs...), attrs...)
	return &lazyAttrs{inner: l.inner, attrs: all}
}

// WithGroup applies the attributes so far: they stay outside the group.
func (l *lazyAttrs) WithGroup(name string) slog.Handler {
	return &lazyAttrs{inner: l.resolved().WithGroup(name)}
}

func (l *lazyAttrs) resolved() slog.Handler {
	if len(l.attrs) == 0 {
		return l.inner
	}
	return l.inner.WithAttrs(l.attrs)
}
