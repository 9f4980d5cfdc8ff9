package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams/embedded"
)

// Target says where a benchmark runs: an embedded server (the default) or
// an external NATS server.
type Target struct {
	// URL is an external server's URL; empty starts an embedded server.
	URL string
	// NATSOptions are used for every connection to URL (credentials,
	// TLS, …).
	NATSOptions []nats.Option
	// Dir is the embedded server's file store; empty means a temporary
	// folder removed when the Env closes.
	Dir string
	// TCP makes the embedded server listen on a loopback port, so the
	// benchmark's connections go through TCP as other processes' would;
	// without it they use in-process pipes.
	TCP bool
	// Logger receives log lines (the embedded server's warnings
	// included); nil discards them.
	Logger *slog.Logger
}

// Env is where benchmarks run: a server, and the connections made to it.
type Env struct {
	target Target
	srv    *embedded.Server
	log    *slog.Logger

	mu    sync.Mutex
	conns []*nats.Conn
}

// Open starts the embedded server, or checks that the external one can be
// reached.
func Open(t Target) (*Env, error) {
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{target: t, log: log}
	if t.URL == "" {
		// The server's notices (its banner) are noise in a benchmark:
		// only its warnings and errors are passed on.
		serverLog := slog.New(minLevel{h: log.Handler(), min: slog.LevelWarn}).With(logkey.Component, "nats-server")
		opts := embedded.Options{Dir: t.Dir, Name: "jetflow-bench", Logger: serverLog}
		if t.TCP {
			opts.Port = embedded.RandomPort
		}
		srv, err := embedded.Start(opts)
		if err != nil {
			return nil, fmt.Errorf("bench: start the embedded server: %w", err)
		}
		e.srv = srv
		return e, nil
	}
	nc, err := e.connect("jetflow-bench-check")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		return nil, fmt.Errorf("bench: JetStream on %s: %w", t.URL, err)
	}
	return e, nil
}

// Embedded reports whether the server runs in this process.
func (e *Env) Embedded() bool { return e.srv != nil }

// Server is the embedded server, or nil.
func (e *Env) Server() *embedded.Server { return e.srv }

// Describe says where the benchmark runs, for reports.
func (e *Env) Describe() string {
	if e.srv == nil {
		return "external " + e.target.URL
	}
	how := "in-process connections"
	if e.target.TCP {
		how = "loopback TCP"
	}
	store := "temporary file store"
	if e.target.Dir != "" {
		store = "file store in " + e.target.Dir
	}
	return fmt.Sprintf("embedded (%s, %s)", store, how)
}

// connect opens a connection with a name that says what it is for.
func (e *Env) connect(name string) (*nats.Conn, error) {
	var nc *nats.Conn
	var err error
	if e.srv != nil {
		nc, err = e.srv.Connect(nats.Name(name))
	} else {
		opts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1)}, e.target.NATSOptions...)
		nc, err = nats.Connect(e.target.URL, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: connect: %w", err)
	}
	e.mu.Lock()
	e.conns = append(e.conns, nc)
	e.mu.Unlock()
	return nc, nil
}

// Close closes every connection and stops the embedded server, removing
// its temporary store.
func (e *Env) Close() {
	e.mu.Lock()
	conns := e.conns
	e.conns = nil
	e.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
	if e.srv != nil {
		e.srv.Shutdown()
	}
}

// newNamespace returns a fresh namespace name with the given prefix.
func newNamespace(prefix string) string {
	var b [4]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// namespaceStreams names the JetStream streams of a namespace, by what they
// hold. The names are those streams/names.go builds (a test checks them
// against a provisioned namespace); the benchmark needs them to count the
// messages stored and to remove the namespace, which package streams does
// not offer.
func namespaceStreams(ns string) map[string]string {
	return map[string]string{
		"history":    "WF_" + ns + "_HISTORY",
		"tasks":      "WF_" + ns + "_TASKS",
		"activities": "WF_" + ns + "_ACTIVITIES",
		"dead":       "WF_" + ns + "_DEAD",
		"registry":   "KV_" + registryBucket(ns),
	}
}

// indexStreams names the list index's streams of a namespace: removed
// with it, not counted as stored (the floor has no index to compare).
func indexStreams(ns string) []string {
	return []string{"WF_" + ns + "_INDEX", "WF_" + ns + "_COUNTS"}
}

// registryBucket is the namespace's registry bucket (see namespaceStreams).
func registryBucket(ns string) string { return "wf_" + ns + "_instances" }

// payloadsStream is the stream of the namespace's object store of large
// payloads (streams/payloadstore.go), made when the first one is stored.
func payloadsStream(ns string) string { return "OBJ_wf_" + ns + "_payloads" }

// storedCounts reads how many messages each stream of a namespace has ever
// stored (its last sequence: work-queue streams delete what is acked), and
// how many bytes each holds now (the object store's too, once it exists).
func storedCounts(ctx context.Context, js jetstream.JetStream, ns string) (msgs, bytes map[string]uint64, err error) {
	msgs, bytes = map[string]uint64{}, map[string]uint64{}
	for what, name := range namespaceStreams(ns) {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		s, err := js.Stream(ctx, name)
		cancel()
		if err != nil {
			return nil, nil, fmt.Errorf("bench: stream %s: %w", name, err)
		}
		msgs[what] = s.CachedInfo().State.LastSeq
		bytes[what] = s.CachedInfo().State.Bytes
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if s, err := js.Stream(ctx, payloadsStream(ns)); err == nil {
		bytes["payloads"] = s.CachedInfo().State.Bytes
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil, fmt.Errorf("bench: stream %s: %w", payloadsStream(ns), err)
	}
	return msgs, bytes, nil
}

// lastSeq reads one stream's last sequence.
func lastSeq(ctx context.Context, js jetstream.JetStream, ns, what string) (uint64, error) {
	name := namespaceStreams(ns)[what]
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("bench: stream %s: %w", name, err)
	}
	return s.CachedInfo().State.LastSeq, nil
}

// removeNamespace deletes a namespace's streams and registry bucket, the
// list index's streams included.
func removeNamespace(ctx context.Context, js jetstream.JetStream, ns string) error {
	var errs []error
	names := append(indexStreams(ns), payloadsStream(ns))
	for _, name := range namespaceStreams(ns) {
		names = append(names, name)
	}
	for _, name := range names {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := js.DeleteStream(ctx, name)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete stream %s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: remove namespace %s: %w", ns, err)
	}
	return nil
}

// minLevel passes on records of at least a level.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(as), min: m.min}
}
func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h: m.h.WithGroup(name), min: m.min}
}
