// Package setup gives the examples a backend, a worker and a client: on the
// NATS server at NATS_URL if set, else on an embedded server of their own.
package setup

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
	"github.com/jetflow/jetflow/worker"
)

// Env is a running example: call Stop when done.
type Env struct {
	Client *client.Client
	Worker *worker.Worker
	stop   []func()
}

// Start connects, provisions the namespace, lets register add workflows and
// activities to a worker, and starts it.
func Start(namespace string, register func(w *worker.Worker) error) *Env {
	e := &Env{}
	var nc *nats.Conn
	var err error
	if url := os.Getenv("NATS_URL"); url != "" {
		nc, err = nats.Connect(url)
		if err != nil {
			log.Fatalf("connect to %s: %v", url, err)
		}
		fmt.Println("using the NATS server at", url)
	} else {
		srv, err := embedded.Start(embedded.Options{})
		if err != nil {
			log.Fatal(err)
		}
		e.stop = append(e.stop, srv.Shutdown)
		nc, err = srv.Connect()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("started an embedded NATS server (set NATS_URL to use your own)")
	}
	e.stop = append(e.stop, nc.Close)
	b, err := streams.New(nc, streams.WithNamespace(namespace))
	if err != nil {
		log.Fatal(err)
	}
	e.Worker = worker.New(b, nil)
	if err := register(e.Worker); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Worker.Start(ctx); err != nil {
		log.Fatal(err)
	}
	e.stop = append(e.stop, func() {
		cancel()
		if err := e.Worker.WaitForCompletion(); err != nil {
			log.Print(err)
		}
	})
	e.Client = client.New(b)
	return e
}

// Stop stops the worker and the server, newest first.
func (e *Env) Stop() {
	for i := len(e.stop) - 1; i >= 0; i-- {
		e.stop[i]()
	}
}

// Context is a context for one example's calls.
func Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}
