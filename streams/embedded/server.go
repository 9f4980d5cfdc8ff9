// Package embedded runs a NATS server with JetStream inside the current
// process: for tests, examples, local development (wfctl dev), and for
// programs that want jetflow without operating NATS.
//
// A server started with empty Options keeps its state in a fresh temporary
// folder that Shutdown removes, and listens on no port: only this process
// can reach it, through Connect. Set Dir to keep state across restarts, and
// Port (or Host) to let other processes connect through ClientURL.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// RandomPort asks for any free TCP port (see Options.Port).
const RandomPort = -1

// DefaultReadyTimeout bounds how long Start waits for the server to accept
// connections and for JetStream to be ready.
const DefaultReadyTimeout = 30 * time.Second

// Options configure an embedded server. The zero value is a private,
// in-process server with a temporary store.
type Options struct {
	// Dir is where JetStream keeps its file store. Empty means a fresh
	// temporary folder, removed by Shutdown. A Dir that exists keeps the
	// state of earlier runs.
	Dir string

	// Host and Port are the address to listen on for other processes.
	// Both empty: no listener, in-process connections only. Port 0 with a
	// Host, or RandomPort, picks a free port (see ClientURL). Host defaults
	// to 127.0.0.1 when only Port is set.
	Host string
	Port int

	// Name is the server's name; empty lets the server choose.
	Name string

	// MaxPayload is the largest message the server accepts, in bytes.
	// Zero keeps the server's default (1 MiB).
	MaxPayload int32

	// Username and Password, when both set, make the server require them
	// from every client (Connect supplies them).
	Username, Password string

	// ConfigFile, when set, loads the server's options from a nats-server
	// configuration file first; the fields above then override it where set.
	ConfigFile string

	// Logger receives the server's own log lines (notice and above).
	// Nil discards them.
	Logger *slog.Logger

	// ReadyTimeout bounds how long Start waits for the server to be ready.
	// Zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	ns       *server.Server
	opts     Options
	storeDir string
	tempDir  string // removed on Shutdown when we created it

	shutdownOnce sync.Once
}

// Start runs a NATS server with JetStream in this process and waits until it
// accepts connections and JetStream is ready.
func Start(opts Options) (*Server, error) {
	sopts, tempDir, err := serverOptions(opts)
	if err != nil {
		return nil, err
	}
	ns, err := startNATS(sopts, opts)
	if err != nil {
		if tempDir != "" {
			os.RemoveAll(tempDir)
		}
		return nil, err
	}
	return &Server{ns: ns, opts: opts, storeDir: sopts.StoreDir, tempDir: tempDir}, nil
}

// serverOptions turns Options into nats-server options. It creates the
// temporary store folder when Dir is empty and returns its path.
func serverOptions(opts Options) (*server.Options, string, error) {
	sopts := &server.Options{}
	if opts.ConfigFile != "" {
		fromFile, err := server.ProcessConfigFile(opts.ConfigFile)
		if err != nil {
			return nil, "", fmt.Errorf("embedded: config file %s: %w", opts.ConfigFile, err)
		}
		sopts = fromFile
	} else {
		sopts.DontListen = true
	}
	sopts.JetStream = true
	sopts.NoSigs = true
	sopts.NoLog = opts.Logger == nil
	if opts.Name != "" {
		sopts.ServerName = opts.Name
	}
	if opts.Host != "" || opts.Port != 0 {
		sopts.DontListen = false
		sopts.Host = opts.Host
		if sopts.Host == "" {
			sopts.Host = "127.0.0.1"
		}
		sopts.Port = opts.Port
		if sopts.Port == 0 {
			sopts.Port = RandomPort
		}
	}
	if opts.Port < RandomPort || opts.Port > 65535 {
		return nil, "", fmt.Errorf("embedded: port %d out of range", opts.Port)
	}
	if opts.MaxPayload < 0 {
		return nil, "", fmt.Errorf("embedded: negative MaxPayload %d", opts.MaxPayload)
	}
	if opts.MaxPayload > 0 {
		sopts.MaxPayload = opts.MaxPayload
	}
	if (opts.Username == "") != (opts.Password == "") {
		return nil, "", errors.New("embedded: Username and Password go together")
	}
	if opts.Username != "" {
		sopts.Username, sopts.Password = opts.Username, opts.Password
	}

	var tempDir string
	switch {
	case opts.Dir != "":
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, "", fmt.Errorf("embedded: store folder: %w", err)
		}
		sopts.StoreDir = opts.Dir
	case opts.ConfigFile != "" && sopts.StoreDir != "":
		// The config file chose the store.
	default:
		dir, err := os.MkdirTemp("", "jetflow-nats-*")
		if err != nil {
			return nil, "", fmt.Errorf("embedded: temporary store: %w", err)
		}
		tempDir, sopts.StoreDir = dir, dir
	}
	return sopts, tempDir, nil
}

// startNATS creates, starts and waits for one nats-server.
func startNATS(sopts *server.Options, opts Options) (*server.Server, error) {
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("embedded: new server: %w", err)
	}
	// The adapter also catches the server's fatal errors (a port in use,
	// say), which do not stop it from starting half way: without this,
	// Start would wait out the whole ready timeout and say nothing useful.
	log := &slogAdapter{l: opts.Logger, fatal: make(chan string, 1)}
	if log.l == nil {
		log.l = slog.New(slog.DiscardHandler)
	}
	ns.SetLoggerV2(log, false, false, false)
	ns.Start()
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	deadline := time.Now().Add(timeout)
	for !ns.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-log.fatal:
			ns.Shutdown()
			return nil, fmt.Errorf("embedded: server failed to start: %s", msg)
		default:
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			return nil, fmt.Errorf("embedded: server not ready for connections after %s", timeout)
		}
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		return nil, errors.New("embedded: JetStream did not start (see the server log: set Options.Logger)")
	}
	return ns, nil
}

// Connect opens a client connection to the server: in-process when the
// server has no listener, else over loopback TCP. It reconnects for as
// long as it takes (a restarted server comes back at the same address).
// Extra options are applied after the embedded server's own (credentials,
// in-process dialer, reconnects).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	base := []nats.Option{nats.Name("jetflow-embedded"), nats.MaxReconnects(-1)}
	if s.opts.Username != "" {
		base = append(base, nats.UserInfo(s.opts.Username, s.opts.Password))
	}
	url := s.ClientURL()
	if url == "" {
		base = append(base, nats.InProcessServer(s.ns))
		url = nats.DefaultURL // ignored by the in-process dialer
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded: connect: %w", err)
	}
	return nc, nil
}

// ClientURL is the URL other processes connect to, or "" when the server
// listens on no port (in-process connections only).
func (s *Server) ClientURL() string {
	addr := s.ns.Addr()
	if addr == nil {
		return ""
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// StoreDir is the folder given to JetStream for its files (Options.Dir, the
// temporary folder, or the config file's store_dir).
func (s *Server) StoreDir() string { return s.storeDir }

// NATSServer exposes the underlying nats-server, for tests that need more
// than this package offers.
func (s *Server) NATSServer() *server.Server { return s.ns }

// Shutdown stops the server, waits until it has stopped, and removes the
// temporary store if Start created one. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.shutdownOnce.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		if s.tempDir != "" {
			os.RemoveAll(s.tempDir)
		}
	})
}

// slogAdapter forwards nats-server's log lines to a *slog.Logger, and
// hands the first fatal error to startNATS.
type slogAdapter struct {
	l     *slog.Logger
	fatal chan string
}

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	a.l.Error(msg)
	select {
	case a.fatal <- msg:
	default:
	}
}
