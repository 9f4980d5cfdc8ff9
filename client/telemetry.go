package client

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/internal/telemetry"
)

// span starts a client span named name of the given kind, as a child of
// ctx's span. Attributes are built only when the span records.
func (c *Client) span(ctx context.Context, name string, kind trace.SpanKind, attrs func() []attribute.KeyValue) (context.Context, trace.Span) {
	ctx, span := c.b.Telemetry().Tracer().Start(ctx, name, trace.WithSpanKind(kind))
	if span.IsRecording() {
		span.SetAttributes(telemetry.KeyMessagingSystem.String("nats"), telemetry.KeyNamespace.String(c.b.Namespace()))
		span.SetAttributes(attrs()...)
	}
	return ctx, span
}
