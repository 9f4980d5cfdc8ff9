package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// Defaults of the global flags.
const (
	defaultServer    = "nats://127.0.0.1:4222"
	defaultNamespace = "default"
	defaultTimeout   = 10 * time.Second
)

// globalFlags are the flags every command takes: where NATS is, how to log
// in, which namespace, how long to wait.
type globalFlags struct {
	server    string
	creds     string
	nkey      string
	user      string
	password  string
	tlsCert   string
	tlsKey    string
	tlsCA     string
	timeout   time.Duration
	namespace string
	verbose   bool
}

// connectionFlags names the global flags that only matter to commands that
// connect to a server.
var connectionFlags = map[string]bool{
	"server": true, "creds": true, "nkey": true, "user": true, "password": true,
	"tlscert": true, "tlskey": true, "tlsca": true, "timeout": true,
}

// defaultGlobalFlags reads the defaults from the environment: NATS_URL and
// JETFLOW_NAMESPACE.
func defaultGlobalFlags() globalFlags {
	g := globalFlags{server: defaultServer, namespace: defaultNamespace, timeout: defaultTimeout}
	if u := os.Getenv("NATS_URL"); u != "" {
		g.server = u
	}
	if ns := os.Getenv("JETFLOW_NAMESPACE"); ns != "" {
		g.namespace = ns
	}
	return g
}

// define adds the global flags to fs, with their current values as
// defaults, so flags given before the command's name stay set. conn says
// whether to add the connection flags.
func (g *globalFlags) define(fs *flag.FlagSet, conn bool) {
	if conn {
		fs.StringVar(&g.server, "server", g.server, "NATS server `URL`s, comma-separated ($NATS_URL)")
		fs.StringVar(&g.creds, "creds", g.creds, "NATS user credentials `FILE`")
		fs.StringVar(&g.nkey, "nkey", g.nkey, "NKey seed `FILE`")
		fs.StringVar(&g.user, "user", g.user, "user `NAME`")
		fs.StringVar(&g.password, "password", g.password, "`PASSWORD` of --user")
		fs.StringVar(&g.tlsCert, "tlscert", g.tlsCert, "TLS client certificate `FILE`")
		fs.StringVar(&g.tlsKey, "tlskey", g.tlsKey, "TLS client key `FILE`")
		fs.StringVar(&g.tlsCA, "tlsca", g.tlsCA, "TLS certificate authority `FILE` to verify the server with")
		fs.DurationVar(&g.timeout, "timeout", g.timeout, "bound `D` on connecting and on each operation")
	}
	fs.StringVar(&g.namespace, "namespace", g.namespace, "jetflow `NAMESPACE` ($JETFLOW_NAMESPACE)")
	fs.BoolVar(&g.verbose, "verbose", g.verbose, "log what wfctl does on stderr")
}

// check validates the combination of global flags.
func (g *globalFlags) check() error {
	switch {
	case g.server == "":
		return usageErrorf("--server is empty")
	case g.timeout <= 0:
		return usageErrorf("--timeout must be positive, got %s", g.timeout)
	case g.creds != "" && g.nkey != "":
		return usageErrorf("--creds and --nkey exclude each other")
	case (g.tlsCert == "") != (g.tlsKey == ""):
		return usageErrorf("--tlscert and --tlskey go together")
	case g.password != "" && g.user == "":
		return usageErrorf("--password needs --user")
	}
	return nil
}

// natsOptions are the connection options the global flags ask for.
func (g *globalFlags) natsOptions() ([]nats.Option, error) {
	opts := []nats.Option{nats.Name("wfctl"), nats.Timeout(g.timeout)}
	if g.creds != "" {
		opts = append(opts, nats.UserCredentials(g.creds))
	}
	if g.nkey != "" {
		opt, err := nats.NkeyOptionFromSeed(g.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nkey %s: %w", g.nkey, err)
		}
		opts = append(opts, opt)
	}
	if g.user != "" {
		opts = append(opts, nats.UserInfo(g.user, g.password))
	}
	if g.tlsCert != "" {
		opts = append(opts, nats.ClientCert(g.tlsCert, g.tlsKey))
	}
	if g.tlsCA != "" {
		opts = append(opts, nats.RootCAs(g.tlsCA))
	}
	return opts, nil
}

// backend connects to NATS and opens the namespace, once per invocation.
func (a *app) backend() (*streams.Backend, error) {
	if a.b != nil {
		return a.b, nil
	}
	opts, err := a.g.natsOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(a.g.server, opts...)
	if err != nil {
		if errors.Is(err, nats.ErrNoServers) {
			return nil, fmt.Errorf("connect to %s: %w (is a server running? 'wfctl dev' starts one; --server or $NATS_URL choose another)", a.g.server, err)
		}
		return nil, fmt.Errorf("connect to %s: %w", a.g.server, err)
	}
	a.log.Debug("connected", "server", nc.ConnectedUrlRedacted(), logkey.Namespace, a.g.namespace)
	codecOpts, err := codecOptions()
	if err != nil {
		nc.Close()
		return nil, err
	}
	// Open, not New: a tool must not create a namespace because of a typo.
	b, err := streams.Open(nc, append([]streams.Option{
		streams.WithNamespace(a.g.namespace),
		streams.WithLogger(a.log),
		streams.WithRequestTimeout(a.g.timeout)}, codecOpts...)...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("open namespace %q on %s: %w", a.g.namespace, a.g.server, err)
	}
	a.nc, a.b = nc, b
	return b, nil
}

// client returns a client of the namespace, connecting first if needed.
func (a *app) client() (*client.Client, error) {
	if a.c != nil {
		return a.c, nil
	}
	b, err := a.backend()
	if err != nil {
		return nil, err
	}
	a.c = client.NewWithOptions(b, &client.Options{Logger: a.log})
	return a.c, nil
}

// close closes the connection, if one was made.
func (a *app) close() {
	if a.b != nil {
		a.b.Close()
	}
	if a.nc != nil {
		a.nc.Close()
	}
}

// opContext bounds a one-shot operation by --timeout.
func (a *app) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.g.timeout)
}

// newLogger logs to w: warnings and errors, or everything with verbose.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
