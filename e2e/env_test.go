// Package e2e runs workflows end to end: a real embedded NATS server, a
// real worker, a real client. Every scenario runs twice, with the worker's
// executor cache and without it (every task replays its history).
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/internal/testenv/wftest"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
)

// env is one scenario's world: a server, a namespace, a worker, a client.
type env struct {
	t      *testing.T
	srv    *embedded.Server
	b      *streams.Backend
	c      *client.Client
	w      *worker.Worker
	opts   worker.Options
	cancel context.CancelFunc
}

// forEachCacheMode runs a scenario with the executor cache and without it.
func forEachCacheMode(t *testing.T, scenario func(t *testing.T, opts worker.Options)) {
	for _, mode := range []struct {
		name     string
		disabled bool
	}{{"cache", false}, {"nocache", true}} {
		t.Run(mode.name, func(t *testing.T) {
			scenario(t, worker.Options{
				DisableExecutorCache: mode.disabled,
				UnknownNameTimeout:   time.Second,
				PollWait:             200 * time.Millisecond,
				TaskRetryDelay:       50 * time.Millisecond,
			})
		})
	}
}

// newEnv starts a server listening on loopback (so other processes can
// join), a backend in a fresh namespace, and a client. register adds the
// workflows and activities to the worker before it starts.
func newEnv(t *testing.T, opts worker.Options, register func(w *worker.Worker)) *env {
	t.Helper()
	if os.Getenv("E2E_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := testenv.Server(t, testenv.Loopback())
	b := testenv.Namespace(t, srv, "e2e", streams.WithAckWait(5*time.Second))
	e := &env{t: t, srv: srv, b: b, c: client.New(b), opts: opts}
	e.w = e.startWorker(register)
	return e
}

// startWorker starts a worker on the env's backend; it is stopped at the
// end of the test, or by e.cancel.
func (e *env) startWorker(register func(w *worker.Worker)) *worker.Worker {
	e.t.Helper()
	opts := e.opts
	w, stop := wftest.StartWorker(e.t, e.b, &opts, register)
	e.cancel = func() { require.NoError(e.t, stop()) }
	return w
}

// ctxFor is a context for a test's calls.
func ctxFor(t *testing.T) context.Context { return testenv.Context(t, 60*time.Second) }

// must registers and fails the test on a registration error.
func must(t *testing.T, err error) {
	t.Helper()
	require.NoError(t, err)
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, within, what, cond)
}

func uniqueID(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(fmt.Sprint(time.Now().UnixNano()), " ", "")
}
