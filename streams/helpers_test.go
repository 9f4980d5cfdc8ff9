package streams

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/history"

	"github.com/jetflow/jetflow/streams/embedded"
)

// startServer runs an embedded server with a temporary file store for the
// length of the test.
func startServer(t testing.TB) *embedded.Server {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	return srv
}

func connect(t testing.TB, srv *embedded.Server) *nats.Conn {
	t.Helper()
	nc, err := srv.Connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// newBackend provisions a namespace on a fresh embedded server.
func newBackend(t testing.TB, opts ...Option) *Backend {
	t.Helper()
	b, err := New(connect(t, startServer(t)), opts...)
	require.NoError(t, err)
	return b
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// encodeRaw encodes any value in the history wire format without checking
// it, to build malformed messages.
func encodeRaw(v any) ([]byte, error) {
	body, err := msgpack.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{history.CurrentFormat}, body...), nil
}

func contextWithTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	t.Helper()
	return context.WithTimeout(context.Background(), d)
}
