package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/jetflow/jetflow/streams"
)

// defaultMetricsAddr is where "wfctl dev" serves Prometheus metrics:
// OpenTelemetry's customary port for its Prometheus exporter.
const defaultMetricsAddr = "127.0.0.1:9464"

// devMetrics is the Prometheus endpoint of "wfctl dev": an OpenTelemetry
// meter provider whose reader is the Prometheus exporter, made the global
// one so everything in the process (the namespace's backend, any worker
// it hosts) records into it, plus gauges of the server's streams and
// queues.
type devMetrics struct {
	listener net.Listener
	provider *sdkmetric.MeterProvider
	handler  http.Handler
}

// startDevMetrics listens on addr and builds the provider.
func startDevMetrics(addr string) (*devMetrics, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usageErrorf("dev: bad metrics address %q: want host:port, as in %s, or off", addr, defaultMetricsAddr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev: cannot serve metrics on %s: %w (--metrics-addr chooses another address, off turns them off)", addr, err)
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("dev: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	otel.SetMeterProvider(mp)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &devMetrics{listener: l, provider: mp, handler: mux}, nil
}

// url is the scrape URL.
func (m *devMetrics) url() string { return "http://" + m.listener.Addr().String() + "/metrics" }

// observeStreams registers gauges of the namespace's JetStream objects,
// read from the server at each scrape: messages per stream (the backlog
// of the task and activity queues among them) and messages waiting per
// queue consumer.
func (m *devMetrics) observeStreams(b *streams.Backend) error {
	meter := m.provider.Meter("github.com/jetflow/jetflow/cmd/wfctl")
	msgs, err := meter.Int64ObservableGauge("jetflow.stream.messages",
		metric.WithDescription("Messages stored in each of the namespace's streams."), metric.WithUnit("{message}"))
	if err != nil {
		return err
	}
	pending, err := meter.Int64ObservableGauge("jetflow.queue.pending",
		metric.WithDescription("Messages of a queue not yet delivered to a worker (consumer wft_<queue>: workflow tasks, wfa_<queue>: activities)."),
		metric.WithUnit("{message}"))
	if err != nil {
		return err
	}
	prefix := "WF_" + b.Namespace() + "_"
	_, err = meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		js := b.JetStream()
		names := js.StreamNames(ctx)
		for name := range names.Name() {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			s, err := js.Stream(ctx, name)
			if err != nil {
				continue
			}
			info := s.CachedInfo()
			o.ObserveInt64(msgs, int64(info.State.Msgs), metric.WithAttributes(attribute.String("jetflow.namespace", b.Namespace()), attribute.String("jetflow.stream", name)))
			observeConsumers(ctx, o, pending, b, s)
		}
		return names.Err()
	}, msgs, pending)
	return err
}

func observeConsumers(ctx context.Context, o metric.Observer, pending metric.Int64ObservableGauge, b *streams.Backend, s jetstream.Stream) {
	cons := s.ListConsumers(ctx)
	for info := range cons.Info() {
		o.ObserveInt64(pending, int64(info.NumPending), metric.WithAttributes(attribute.String("jetflow.namespace", b.Namespace()), attribute.String("jetflow.consumer", info.Name)))
	}
}
