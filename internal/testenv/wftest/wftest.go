// Package wftest adds a running worker and a client to testenv's server
// and namespace: the world of a test that runs workflows end to end.
//
//	e := wftest.New(t, wftest.Options{
//		Prefix:   "orders",
//		Register: func(w *worker.Worker) { require.NoError(t, w.RegisterWorkflow(Order)) },
//	})
//	inst, err := e.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Order, in)
//
// wftest imports worker and client, so the internal tests of those
// packages (and of the packages they import) cannot use it; see the import
// rules in package testenv.
package wftest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
)

// StartWorker makes a worker on b with a copy of opts (nil: defaults),
// lets register register its workflows and activities, and starts it.
// stop cancels the worker and waits for it, returning what
// WaitForCompletion returned; it runs at the end of the test unless the
// test called it first, and later calls return the first call's error.
func StartWorker(t testing.TB, b *streams.Backend, opts *worker.Options, register func(*worker.Worker)) (w *worker.Worker, stop func() error) {
	t.Helper()
	var o worker.Options
	if opts != nil {
		o = *opts
	}
	w = worker.New(b, &o)
	if register != nil {
		register(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, w.Start(ctx), "start worker")
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			err = w.WaitForCompletion()
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return w, stop
}

// Worker is StartWorker for a test that lets the worker run until the end.
func Worker(t testing.TB, b *streams.Backend, opts *worker.Options, register func(*worker.Worker)) *worker.Worker {
	t.Helper()
	w, _ := StartWorker(t, b, opts, register)
	return w
}

// Options configures New. The zero value is a fresh server, a namespace
// named "test<N>" with the default settings, and a worker with no
// functions registered.
type Options struct {
	// Server is the server to provision on, shared with other tests; nil
	// starts one for the test, with ServerOptions.
	Server        *embedded.Server
	ServerOptions []testenv.ServerOption

	// Prefix names the namespace: Prefix followed by a unique number
	// (testenv.UniqueName). Empty means "test".
	Prefix string
	// Streams are the backend's options (after the namespace's name).
	Streams []streams.Option

	// Worker is the worker's options; nil means the defaults.
	Worker *worker.Options
	// Register registers the worker's workflows and activities.
	Register func(*worker.Worker)
}

// Env is a test's world: a server, a namespace on it, a worker running
// there, and a client of the namespace.
type Env struct {
	Server  *embedded.Server
	Backend *streams.Backend
	Worker  *worker.Worker
	Client  *client.Client

	// StopWorker stops the worker before the end of the test (see
	// StartWorker).
	StopWorker func() error
}

// New builds an Env; everything in it stops at the end of the test.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	srv := o.Server
	if srv == nil {
		srv = testenv.Server(t, o.ServerOptions...)
	}
	prefix := o.Prefix
	if prefix == "" {
		prefix = "test"
	}
	b := testenv.Namespace(t, srv, prefix, o.Streams...)
	w, stop := StartWorker(t, b, o.Worker, o.Register)
	return &Env{Server: srv, Backend: b, Worker: w, Client: client.New(b), StopWorker: stop}
}
