package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jetflow/jetflow/diag"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// Defaults of "wfctl dev".
const (
	defaultDevHost = "127.0.0.1"
	defaultDevPort = 4222
)

// defaultDevDir is where "wfctl dev" keeps its state without --dir: the
// user's cache folder, so state survives restarts and stays out of source
// trees; ./.jetflow-dev when there is no cache folder.
func defaultDevDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "jetflow", "dev")
	}
	return ".jetflow-dev"
}

func devCommand() *command {
	var (
		dir     string
		host    string
		port    int
		ui      string
		metrics string
	)
	return &command{
		name:    "dev",
		local:   true,
		summary: "run a development NATS JetStream server and the web UI until Ctrl-C",
		description: `
Run a NATS server with JetStream in this process, for development: state
on disk in --dir (kept across restarts), listening on --host:--port so
workers, clients and wfctl in other processes can connect. The namespace
is provisioned, and the URL to connect to is printed.

The web UI is served on --ui (default ` + defaultUIAddr + `); --ui off
turns it off.

Prometheus metrics (OpenTelemetry's Prometheus exporter) are served on
--metrics-addr (default ` + defaultMetricsAddr + `, path /metrics): the
jetflow instruments of everything in this process, and gauges of the
namespace's streams and queue backlogs read from the server at each
scrape. When the default port is taken, dev says so and runs without
them; --metrics-addr off turns them off. Workers in other processes serve
their own (see docs/observability.md).

Ctrl-C (or SIGTERM) stops the server cleanly: everything stored is kept
for the next start on the same --dir. A second Ctrl-C exits at once.

--port 0 picks a free port.`,
		examples: []string{
			`wfctl dev`,
			`wfctl dev --dir ./.jetflow-dev --port 4333 --ui 127.0.0.1:9000`,
			`# in another terminal:`,
			`NATS_URL=nats://127.0.0.1:4222 go run ./examples/quickstart`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dir, "dir", defaultDevDir(), "`DIR` of the server's state")
			fs.StringVar(&host, "host", defaultDevHost, "`ADDR` to listen on (0.0.0.0: every interface)")
			fs.IntVar(&port, "port", defaultDevPort, "TCP `PORT` for clients (0: any free port)")
			fs.StringVar(&ui, "ui", defaultUIAddr, "`ADDR` (host:port) of the web UI, or off")
			fs.StringVar(&metrics, "metrics-addr", defaultMetricsAddr, "`ADDR` (host:port) of the Prometheus endpoint /metrics, or off")
		},
		run: func(ctx context.Context, a *app, _ []string) error {
			if port < 0 || port > 65535 {
				return usageErrorf("dev: --port %d out of range", port)
			}
			d := &devServer{a: a, dir: dir, host: host, port: port, ui: ui, metrics: metrics, metricsGiven: a.given["metrics-addr"]}
			return d.run(ctx)
		},
	}
}

// devServer is a running "wfctl dev".
type devServer struct {
	a    *app
	dir  string
	host string
	port int
	ui   string // the UI's address, or "off"
	// metrics is the Prometheus endpoint's address, or "off";
	// metricsGiven says it was given (a taken port is then an error).
	metrics      string
	metricsGiven bool
}

// run starts the server, provisions the namespace, and runs the services
// that live as long as the server until ctx ends; then it stops them, shuts
// the server down and waits until it has stopped.
func (d *devServer) run(ctx context.Context) error {
	log := d.a.log
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("dev: state folder: %w", err)
	}
	if err := checkPortFree(d.host, d.port); err != nil {
		return err
	}
	var uiListener net.Listener
	if d.ui != "off" {
		l, err := listenUI("dev", d.ui)
		if err != nil {
			return err
		}
		defer l.Close()
		uiListener = l
	}
	var metrics *devMetrics
	metricsNote := "off (--metrics-addr ADDR serves them)"
	if d.metrics != "off" {
		m, err := startDevMetrics(d.metrics)
		switch {
		case err == nil:
			defer m.listener.Close()
			defer func() { _ = m.provider.Shutdown(context.Background()) }()
			metrics, metricsNote = m, m.url()
		case d.metricsGiven:
			return err
		default:
			metricsNote = "off: " + err.Error()
		}
	}
	// The server logs its warnings and errors (with --verbose, its
	// notices too) through wfctl's logger, tagged as the server's.
	srv, err := embedded.Start(embedded.Options{
		Dir:    d.dir,
		Host:   d.host,
		Port:   portOption(d.port),
		Name:   "wfctl-dev",
		Logger: log.With(logkey.Component, "nats-server"),
	})
	if err != nil {
		return fmt.Errorf("dev: start server: %w", err)
	}
	defer func() {
		fmt.Fprintln(d.a.stderr, "stopping the server…")
		srv.Shutdown()
		fmt.Fprintf(d.a.stderr, "stopped; state kept in %s\n", srv.StoreDir())
	}()

	nc, err := srv.Connect()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer nc.Close()
	codecOpts, err := codecOptions()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	opts := append([]streams.Option{streams.WithNamespace(d.a.g.namespace), streams.WithLogger(log)}, codecOpts...)
	if metrics != nil {
		opts = append(opts, streams.WithMeterProvider(metrics.provider))
	}
	b, err := streams.New(nc, opts...)
	if err != nil {
		return fmt.Errorf("dev: provision namespace %q: %w", d.a.g.namespace, err)
	}
	defer b.Close()

	url := srv.ClientURL()
	abs, err := filepath.Abs(srv.StoreDir())
	if err != nil {
		abs = srv.StoreDir()
	}
	webUI := "off (--ui ADDR serves it)"
	if uiListener != nil {
		webUI = uiURL(uiListener)
	}
	fmt.Fprintf(d.a.stdout, `jetflow development server
  NATS URL:   %s
  namespace:  %s
  state:      %s
  web UI:     %s
  metrics:    %s

Connect workers and clients to it:
  export NATS_URL=%s
Press Ctrl-C to stop.
`, url, d.a.g.namespace, abs, webUI, metricsNote, url)
	log.Debug("serving", "url", url, "dir", abs)

	// Services run beside the server and stop before it does.
	var services []service
	if uiListener != nil {
		services = append(services, httpService(uiListener, diag.NewServeMux(b)))
	}
	if metrics != nil {
		if err := metrics.observeStreams(b); err != nil {
			return fmt.Errorf("dev: metrics: %w", err)
		}
		services = append(services, httpService(metrics.listener, metrics.handler))
	}
	return runServices(ctx, services)
}

// service is something "wfctl dev" runs as long as its server: it returns
// nil when ctx ends, or an error early, which stops dev.
type service func(ctx context.Context) error

// runServices runs services until ctx ends or one of them fails, then
// waits until all have returned, and returns the first error.
func runServices(ctx context.Context, services []service) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(services))
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Go(func() {
			if err := s(ctx); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	close(errc)
	return <-errc // nil when none failed
}

// httpService serves h on l until ctx ends, then shuts the HTTP server down
// gracefully (in-flight requests get a few seconds to finish).
func httpService(l net.Listener, h http.Handler) service {
	return func(ctx context.Context) error {
		// Requests run in a context that ends when the service stops, so
		// the UI's live streams, which never go idle, end and let the
		// graceful shutdown finish.
		reqs, stopReqs := context.WithCancel(context.WithoutCancel(ctx))
		defer stopReqs()
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return reqs },
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		select {
		case err := <-served:
			return fmt.Errorf("serve HTTP on %s: %w", l.Addr(), err)
		case <-ctx.Done():
		}
		stopReqs()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("stop serving HTTP on %s: %w", l.Addr(), err)
		}
		return nil
	}
}

// portOption turns --port into embedded.Options.Port: 0 asks for any free
// port.
func portOption(port int) int {
	if port == 0 {
		return embedded.RandomPort
	}
	return port
}

// checkPortFree fails early and clearly when the port is taken (the server
// itself would only report it in its log).
func checkPortFree(host string, port int) error {
	if port == 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dev: cannot listen on %s: %w (is another server running there? --port chooses another port)", addr, err)
	}
	return l.Close()
}
