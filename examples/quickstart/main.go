// Command quickstart shows jetflow's JetStream layer at work: it starts an
// embedded NATS server (or uses NATS_URL), provisions a namespace, registers
// an instance, commits its first history entry, and waits for a durable
// timer that the server itself fires.
//
// It grows into the full quick start (a workflow run by a worker) once the
// worker exists.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/streams"
	"github.com/jetflow/jetflow/streams/embedded"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	nc, stop, err := connect()
	if err != nil {
		return err
	}
	defer stop()

	b, err := streams.New(nc, streams.WithNamespace("quickstart"))
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Println("provisioned namespace", b.Namespace())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id := fmt.Sprintf("order-%d", time.Now().UnixNano())
	run := "run1"
	now := time.Now().UTC()
	if _, err := b.CreateInstance(ctx, &streams.InstanceRecord{
		InstanceID: id, WorkflowName: "Quickstart", Queue: streams.DefaultQueue,
		ExecutionID: run, Status: streams.StatusRunning, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return err
	}
	seq, err := b.Commit(ctx, id, run, 0, &history.Commit{Events: []history.Event{
		{Kind: history.WorkflowStarted, ID: 1, Time: now, Name: "Quickstart", Queue: streams.DefaultQueue, InboxID: "start"},
		{Kind: history.TimerScheduled, ID: 2, Time: now, FireAt: now.Add(time.Second)},
	}})
	if err != nil {
		return err
	}
	fmt.Printf("instance %s: first commit stored at sequence %d\n", id, seq)

	inbox, err := b.InboxQueue(ctx, streams.DefaultQueue)
	if err != nil {
		return err
	}
	if err := b.ScheduleTimer(ctx, streams.DefaultQueue, id, run, 2, now.Add(time.Second)); err != nil {
		return err
	}
	fmt.Println("timer scheduled for", now.Add(time.Second).Format(time.RFC3339Nano))
	for {
		msgs, err := inbox.Fetch(ctx, 10, time.Second)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Err != nil || m.InstanceID != id {
				// Not ours (an earlier run against the same server):
				// leave it for its own worker.
				_ = m.Nak()
				continue
			}
			fmt.Printf("timer %d fired at %s (%s after its due time)\n",
				m.Event.ScheduleID, m.Published().Format(time.RFC3339Nano), m.Published().Sub(m.Event.FireAt).Round(time.Millisecond))
			return m.AckSync(ctx)
		}
	}
}

// connect uses NATS_URL when set, else an embedded server of our own.
func connect() (*nats.Conn, func(), error) {
	if url := os.Getenv("NATS_URL"); url != "" {
		nc, err := nats.Connect(url)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", url, err)
		}
		return nc, nc.Close, nil
	}
	srv, err := embedded.Start(embedded.Options{})
	if err != nil {
		return nil, nil, err
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		return nil, nil, err
	}
	fmt.Println("started an embedded NATS server (set NATS_URL to use your own)")
	return nc, func() { nc.Close(); srv.Shutdown() }, nil
}
