// Package testenv is the shared setup of the tests that run against a real
// NATS server: an embedded server, a connection, a fresh namespace, a
// context with a deadline, and a deadline-based wait for a condition.
// Everything a helper starts is stopped at the end of the test, through
// t.Cleanup.
//
// A typical test:
//
//	srv := testenv.Server(t)
//	b := testenv.Namespace(t, srv, "orders", streams.WithAckWait(5*time.Second))
//	ctx := testenv.Context(t, 30*time.Second)
//	...
//	testenv.WaitFor(t, 10*time.Second, "the instance to finish", func() bool { ... })
//
// Package wftest, beneath this one, adds a started worker and a client.
//
// # Import rules
//
// Only tests import testenv and wftest; TestOnlyTestsImportIt checks it.
// testenv imports streams and streams/embedded only, so the tests of any
// package other than those two may use it, internal tests (package x)
// included. wftest imports worker and client as well: a package's internal
// tests may use it only if the package is neither of those, nor imported
// by them; the tests of worker and client use it from their external test
// packages (package worker_test, package client_test), or use testenv
// alone. streams' own internal tests cannot import testenv (it imports
// streams): they keep their helpers in streams/helpers_test.go.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

// ServerOption sets a field of the embedded server's options. Any function
// of this type will do; Loopback and StoreDir cover the common cases.
type ServerOption func(*embedded.Options)

// Loopback makes the server listen on a free port of 127.0.0.1, so other
// processes (wfctl, worker processes) can connect to srv.ClientURL().
// Without it the server accepts in-process connections only.
func Loopback() ServerOption {
	return func(o *embedded.Options) {
		o.Host = "127.0.0.1"
		o.Port = embedded.RandomPort
	}
}

// StoreDir keeps the server's file store in dir, so a server started later
// on the same dir finds the streams of this one. Without it the store is a
// temporary folder removed at shutdown.
func StoreDir(dir string) ServerOption {
	return func(o *embedded.Options) { o.Dir = dir }
}

// Start starts an embedded server with the options applied. It is for a
// TestMain's shared server (see RunShared); a test calls Server.
func Start(opts ...ServerOption) (*embedded.Server, error) {
	var o embedded.Options
	for _, opt := range opts {
		opt(&o)
	}
	return embedded.Start(o)
}

// Server starts an embedded server for the test and shuts it down at the
// end of the test.
func Server(t testing.TB, opts ...ServerOption) *embedded.Server {
	t.Helper()
	srv, err := Start(opts...)
	require.NoError(t, err, "start embedded NATS server")
	t.Cleanup(srv.Shutdown)
	return srv
}

// RunShared is the body of a TestMain whose package shares one server
// between its tests: it starts the server, hands it to started (which
// stores it where the tests find it), runs the tests and shuts the server
// down. It returns the exit code for os.Exit; a server that fails to start
// is reported on stderr and gives 1.
//
//	func TestMain(m *testing.M) {
//		os.Exit(testenv.RunShared(m, func(s *embedded.Server) { testServer = s }))
//	}
func RunShared(m *testing.M, started func(*embedded.Server), opts ...ServerOption) int {
	srv, err := Start(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start embedded NATS server:", err)
		return 1
	}
	defer srv.Shutdown()
	started(srv)
	return m.Run()
}

// Connector is what Conn and Namespace connect through: an
// *embedded.Server or an *embedded.Cluster.
type Connector interface {
	Connect(opts ...nats.Option) (*nats.Conn, error)
}

// Conn opens a NATS connection to c, closed at the end of the test.
func Conn(t testing.TB, c Connector) *nats.Conn {
	t.Helper()
	nc, err := c.Connect()
	require.NoError(t, err, "connect to NATS")
	t.Cleanup(nc.Close)
	return nc
}

var namespaceSeq atomic.Int64

// UniqueName is prefix followed by a number no earlier call in this test
// binary returned: "orders1", "orders2", "e2e3". Namespace names its
// namespaces with it; call it for a name a test needs before it provisions.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, namespaceSeq.Add(1))
}

// Namespace opens a connection to c (closed at the end of the test) and
// provisions a fresh namespace on it, named UniqueName(prefix), with opts.
// The namespace's name goes first, so a streams.WithNamespace among opts
// would name it instead; b.Namespace() is the name used.
func Namespace(t testing.TB, c Connector, prefix string, opts ...streams.Option) *streams.Backend {
	t.Helper()
	all := append([]streams.Option{streams.WithNamespace(UniqueName(prefix))}, opts...)
	return Backend(t, Conn(t, c), all...)
}

// Backend provisions a namespace on nc with opts as given: streams'
// default namespace unless opts name one. It is for tests that need a
// fixed name or a connection of their own; the others call Namespace.
func Backend(t testing.TB, nc *nats.Conn, opts ...streams.Option) *streams.Backend {
	t.Helper()
	// Provisioning is idempotent. A server busy with many parallel tests
	// under -race on a small machine can take longer than New's own
	// bound on one stream: try again rather than fail the test.
	deadline := time.Now().Add(provisionTime)
	for {
		b, err := streams.New(nc, opts...)
		if err == nil {
			return b
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			require.NoError(t, err, "provision namespace")
		}
		t.Logf("provisioning timed out; trying again: %v", err)
	}
}

// provisionTime bounds Backend's tries.
const provisionTime = 2 * time.Minute

// Context is a context for the test's calls that ends after within or with
// the test, whichever comes first.
func Context(t testing.TB, within time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	return ctx
}

// PollInterval is how often WaitFor checks its condition.
const PollInterval = 10 * time.Millisecond

// WaitFor checks cond every PollInterval until it holds, and fails the
// test, naming what it waited for, if within passes first. It is for
// conditions that become true eventually; it never sleeps a fixed time.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(PollInterval)
	}
}
