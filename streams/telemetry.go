package streams

import (
	"errors"
	"sync"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/jetflow/jetflow/internal/telemetry"
)

// telemetryOptions are the OpenTelemetry providers given to New.
type telemetryOptions struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
}

// telemetryState is the backend's telemetry, built on first use from the
// options.
type telemetryState struct {
	once sync.Once
	t    *telemetry.Telemetry
}

// WithTracerProvider sets the OpenTelemetry tracer provider of everything
// built on the backend: client starts, signals and queries, workflow tasks,
// activities, timers and sub-workflows become spans of it (see
// docs/observability.md). The default is otel.GetTracerProvider(), so an
// application that has set up OpenTelemetry globally needs no option; with
// none set, tracing costs next to nothing.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) error {
		if tp == nil {
			return errors.New("streams: nil tracer provider")
		}
		o.telemetry.tracerProvider = tp
		return nil
	}
}

// WithMeterProvider sets the OpenTelemetry meter provider of the metrics of
// everything built on the backend (jetflow.workflow.completed,
// jetflow.activity.duration, …; see docs/observability.md). The default is
// otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return errors.New("streams: nil meter provider")
		}
		o.telemetry.meterProvider = mp
		return nil
	}
}

// Telemetry is the backend's tracer and metric instruments, for worker and
// client (package internal/telemetry: not for applications, which choose
// providers with WithTracerProvider and WithMeterProvider).
func (b *Backend) Telemetry() *telemetry.Telemetry {
	b.tel.once.Do(func() {
		b.tel.t = telemetry.New(b.opts.namespace, b.opts.telemetry.tracerProvider, b.opts.telemetry.meterProvider)
	})
	return b.tel.t
}
