// Command worker is a long-running jetflow worker, the shape of one a
// service would run in production: it connects to the NATS servers in
// NATS_URL (comma-separated), provisions the namespace with the replicas
// in JETFLOW_REPLICAS, serves the Greeting workflow until SIGINT or
// SIGTERM, and finishes the tasks in flight before it exits. With
// METRICS_ADDR (host:port) set it serves Prometheus metrics on /metrics.
// docker-compose.yml runs it against a 3-node cluster; start a workflow
// with `wfctl start Greeting --input '"ann"'`.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Greet is the activity.
func Greet(ctx context.Context, name string) (string, error) {
	return "Hello, " + name + "!", nil
}

// Greeting waits a moment, then greets.
func Greeting(ctx workflow.Context, name string) (string, error) {
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return "", err
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Greet, name).Get(ctx)
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("worker failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	replicas := 1
	if s := os.Getenv("JETFLOW_REPLICAS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("JETFLOW_REPLICAS=%q: %w", s, err)
		}
		replicas = n
	}
	namespace := os.Getenv("JETFLOW_NAMESPACE")
	if namespace == "" {
		namespace = streams.DefaultNamespace
	}
	nc, err := nats.Connect(url, nats.Name("jetflow-example-worker"), nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true), nats.ReconnectWait(time.Second))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", url, err)
	}
	defer nc.Close()
	opts := []streams.Option{streams.WithNamespace(namespace), streams.WithReplicas(replicas), streams.WithLogger(log)}
	if addr := os.Getenv("METRICS_ADDR"); addr != "" {
		mp, err := serveMetrics(addr, log)
		if err != nil {
			return err
		}
		defer func() { _ = mp.Shutdown(context.Background()) }()
		opts = append(opts, streams.WithMeterProvider(mp))
	}
	// The cluster may still be electing its meta leader: retry for a while.
	var b *streams.Backend
	for attempt := 1; ; attempt++ {
		b, err = streams.New(nc, opts...)
		if err == nil || attempt == 30 {
			break
		}
		log.Info("waiting for JetStream", "err", err)
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		return fmt.Errorf("provision namespace %q: %w", namespace, err)
	}
	w := worker.New(b, &worker.Options{Logger: log})
	if err := errors.Join(w.RegisterWorkflow(Greeting), w.RegisterActivity(Greet)); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.Start(ctx); err != nil {
		return err
	}
	log.Info("serving", "nats", url, "namespace", namespace, "replicas", replicas)
	<-ctx.Done()
	log.Info("stopping: finishing the tasks in flight")
	return w.WaitForCompletion()
}
