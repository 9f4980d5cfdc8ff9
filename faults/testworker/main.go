// Command testworker is the worker process of the fault suite (package
// faults): a jetflow worker serving faults.Flow and its activities, which
// the tests start, SIGKILL and start again. It connects to -url (one URL, or
// several comma-separated for a cluster) and reconnects forever, so it
// rides out server restarts and lost cluster nodes. It prints "ready" on
// stdout once it polls its queues. With -crashat it SIGKILLs itself the
// first time it reaches that crash point (a moment between two steps of
// the schedule fire path).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/faults"
	"github.com/jetflow/jetflow/internal/crashpoint"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/worker"
)

func main() {
	var (
		url      = flag.String("url", "", "NATS URL(s), comma-separated")
		ns       = flag.String("ns", "", "jetflow namespace")
		name     = flag.String("name", "w", "worker name, written with each activity application")
		logDir   = flag.String("logdir", "", "folder of the activity application logs")
		ackWait  = flag.Duration("ackwait", 2*time.Second, "ack wait of the queues (must match the test's)")
		replicas = flag.Int("replicas", 1, "stream replicas (must match the test's)")
		noCache  = flag.Bool("nocache", false, "disable the executor cache")
		logLevel = flag.String("log", "warn", "log level: debug, info, warn, error")
		reqTO    = flag.Duration("reqtimeout", 0, "JetStream request timeout (0: the library's default)")
		unknown  = flag.Duration("unknowntimeout", 0, "worker UnknownNameTimeout (0: the library's default)")
		spans    = flag.String("spans", "", "trace every span and append it to this file, a JSON line each")
		queue    = flag.String("queue", "", "the one queue the worker serves (empty: the default queue)")
		crashAt  = flag.String("crashat", "", "SIGKILL this process the first time it reaches this crash point (internal/crashpoint)")
	)
	flag.Parse()
	if *crashAt != "" {
		point := *crashAt
		crashpoint.Set(func(p string) {
			if p == point {
				fmt.Fprintln(os.Stderr, "testworker: crash point", p, "reached: SIGKILL")
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way: go no further
			}
		})
	}
	if err := run(*url, *ns, *name, *logDir, *queue, *ackWait, *replicas, *noCache, *logLevel, *reqTO, *unknown, *spans); err != nil {
		fmt.Fprintln(os.Stderr, "testworker:", err)
		os.Exit(1)
	}
}

func run(url, ns, name, logDir, queue string, ackWait time.Duration, replicas int, noCache bool, level string, reqTimeout, unknownTimeout time.Duration, spans string) error {
	if url == "" || ns == "" || logDir == "" {
		return fmt.Errorf("-url, -ns and -logdir are required")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})).With("worker", name)

	nc, err := nats.Connect(url,
		nats.Name("faults-testworker-"+name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectJitter(50*time.Millisecond, 50*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { logger.Warn("disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { logger.Warn("reconnected", "url", c.ConnectedUrl()) }),
	)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()

	// Provisioning needs JetStream: retry while the server (or the
	// cluster's leader) is not there yet.
	opts := []streams.Option{streams.WithNamespace(ns), streams.WithAckWait(ackWait),
		streams.WithReplicas(replicas), streams.WithLogger(logger)}
	if reqTimeout > 0 {
		opts = append(opts, streams.WithRequestTimeout(reqTimeout))
	}
	if spans != "" {
		tp, err := newSpanFile(spans)
		if err != nil {
			return err
		}
		defer func() { _ = tp.Shutdown(context.Background()) }()
		opts = append(opts, streams.WithTracerProvider(tp))
	}
	var b *streams.Backend
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, err = streams.New(nc, opts...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("provision: %w", err)
		}
		logger.Warn("provisioning failed; retrying", "err", err)
		time.Sleep(200 * time.Millisecond)
	}

	actLog, err := faults.OpenAppendLog(logDir, name)
	if err != nil {
		return err
	}
	defer actLog.Close()
	var queues []string
	if queue != "" {
		queues = []string{queue}
	}
	w := worker.New(b, &worker.Options{
		Queues:               queues,
		DisableExecutorCache: noCache,
		PollWait:             500 * time.Millisecond,
		TaskRetryDelay:       50 * time.Millisecond,
		UnknownNameTimeout:   unknownTimeout,
		Logger:               logger,
	})
	if err := faults.Register(w, actLog); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Println("ready")

	// The tests end a worker with SIGKILL; SIGTERM stops it gracefully.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	cancel()
	return w.WaitForCompletion()
}
