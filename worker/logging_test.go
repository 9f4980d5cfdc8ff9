package worker

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/stretchr/testify/assert"
)

func TestLazyAttrsLogsLikeTheHandlerBeneath(t *testing.T) {
	var want, got bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	direct := slog.New(slog.NewTextHandler(&want, opts))
	lazy := slog.New(newLazyAttrs(slog.NewTextHandler(&got, opts)))

	for _, l := range []*slog.Logger{direct, lazy} {
		base := l.With(logkey.Component, "worker")
		a := base.With(logkey.Instance, "a")
		b := base.With(logkey.Instance, "b", logkey.Execution, "r1")
		a.Info("one", "n", 1)
		b.WithGroup("g").With("k", "v").Warn("two", "n", 2)
		base.Debug("not shown")
		a.Error("three")
	}
	assert.Equal(t, want.String(), got.String())
	assert.Contains(t, got.String(), `level=WARN msg=two component=worker instance_id=b execution_id=r1 g.k=v g.n=2`)
}
