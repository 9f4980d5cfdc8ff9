package streams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/telemetry"
	"github.com/jetflow/jetflow/internal/wire"
)

// ActivityTask is the work order for one activity: which run asked for it,
// what to call, with which arguments and options, and where the result goes.
type ActivityTask struct {
	InstanceID  string `msgpack:"i"`
	ExecutionID string `msgpack:"x"`
	// ScheduleID is the ID of the ActivityScheduled event; the result
	// event answers it.
	ScheduleID int64 `msgpack:"s"`
	// WorkflowQueue is the queue of the workflow's inbox, where the
	// result goes.
	WorkflowQueue string `msgpack:"wq"`
	// Queue is the activity queue the task is published on.
	Queue       string                  `msgpack:"q"`
	Name        string                  `msgpack:"n"`
	Args        [][]byte                `msgpack:"a,omitempty"`
	Options     history.ActivityOptions `msgpack:"o"`
	ScheduledAt time.Time               `msgpack:"t"`
	// Trace is the W3C trace context of the workflow task that scheduled
	// the activity (tracing on): each attempt's span is its child. It
	// also travels in the message's traceparent header.
	Trace *history.TraceContext `msgpack:"tc,omitempty"`
	// Header carries context values (workflow.ContextPropagator).
	Header map[string][]byte `msgpack:"h,omitempty"`
}

// activityTaskFormat is the first byte of an encoded activity task, as in
// package history: it says how the rest is encoded.
const activityTaskFormat byte = 1

func encodeActivityTask(t *ActivityTask) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(activityTaskFormat)
	if err := msgpack.NewEncoder(&buf).Encode(t); err != nil {
		return nil, fmt.Errorf("streams: encode activity task: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeActivityTask(b []byte) (*ActivityTask, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty activity task", history.ErrMalformed)
	}
	if b[0] != activityTaskFormat {
		return nil, fmt.Errorf("%w: activity task has unknown format %d", history.ErrMalformed, b[0])
	}
	if err := wire.Check(b[1:]); err != nil {
		return nil, fmt.Errorf("%w: activity task: %v", history.ErrMalformed, err)
	}
	var t ActivityTask
	if err := msgpack.Unmarshal(b[1:], &t); err != nil {
		return nil, fmt.Errorf("%w: activity task: %v", history.ErrMalformed, err)
	}
	if t.InstanceID == "" || t.ExecutionID == "" || t.Name == "" || t.ScheduleID <= 0 {
		return nil, fmt.Errorf("%w: activity task lacks instance, run, name or schedule ID", history.ErrMalformed)
	}
	t.ScheduledAt = t.ScheduledAt.UTC()
	return &t, nil
}

// PublishActivity puts an activity task on its queue. Publishing the same
// task (same instance, run and schedule ID) again within the duplicate
// window stores it once.
func (b *Backend) PublishActivity(ctx context.Context, t *ActivityTask) error {
	if t == nil {
		return errors.New("streams: nil activity task")
	}
	q, err := EncodeQueue(t.Queue)
	if err != nil {
		return err
	}
	if _, err := EncodeInstanceID(t.InstanceID); err != nil {
		return err
	}
	if err := CheckExecutionID(t.ExecutionID); err != nil {
		return err
	}
	if t.Name == "" {
		return errors.New("streams: activity task has no name")
	}
	if t.ScheduleID <= 0 {
		return fmt.Errorf("streams: activity task has schedule ID %d", t.ScheduleID)
	}
	args := make([]*[]byte, len(t.Args))
	for i := range t.Args {
		args[i] = &t.Args[i]
	}
	inst, _ := EncodeInstanceID(t.InstanceID)
	if err := b.fitPayloads(ctx, inst, t.ExecutionID, args, func() (int, error) {
		data, err := encodeActivityTask(t)
		return len(data), err
	}); err != nil {
		return err
	}
	data, err := encodeActivityTask(t)
	if err != nil {
		return err
	}
	subject := b.n.activities(q)
	if err := b.checkSize("activity task "+t.Name, len(data)+len(subject)+128); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, activityMsgID(t))
	telemetry.Headers(t.Trace, msg.Header.Set)
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: publish activity task %s: %w", t.Name, err)
	}
	return nil
}

// ActivityMessage is one fetched activity task. When it could not be
// decoded, Err says why and Task is nil: dead-letter it.
type ActivityMessage struct {
	TaskMessage
	Task *ActivityTask
	Err  error
}

// Attempt is the number of this try of the activity, from 1: JetStream's
// delivery count.
func (m *ActivityMessage) Attempt() int { return int(m.Deliveries()) }

// ActivityQueue reads a queue's activity tasks through its shared durable
// consumer.
type ActivityQueue struct {
	queue string
	cons  jetstream.Consumer
}

// ActivityQueue binds to the activity consumer of a queue, creating it if
// needed.
func (b *Backend) ActivityQueue(ctx context.Context, queue string) (*ActivityQueue, error) {
	if err := b.EnsureQueue(ctx, queue); err != nil {
		return nil, err
	}
	q, _ := EncodeQueue(queue)
	cons, err := b.activities.Consumer(ctx, b.n.activityConsumer(q))
	if err != nil {
		return nil, fmt.Errorf("streams: activity consumer of queue %q: %w", queue, err)
	}
	return &ActivityQueue{queue: queue, cons: cons}, nil
}

// Fetch pulls up to max activity tasks, waiting at most wait for the first.
func (q *ActivityQueue) Fetch(ctx context.Context, max int, wait time.Duration) ([]*ActivityMessage, error) {
	msgs, err := fetch(ctx, q.cons, max, wait)
	if err != nil {
		return nil, fmt.Errorf("streams: fetch activities of queue %q: %w", q.queue, err)
	}
	out := make([]*ActivityMessage, len(msgs))
	for i, m := range msgs {
		am := &ActivityMessage{TaskMessage: newTaskMessage(m)}
		am.Task, am.Err = decodeActivityTask(m.Data())
		out[i] = am
	}
	return out, nil
}

// Heartbeat details: what an activity attempt passed to
// activity.RecordHeartbeat, kept so that the next attempt (on any worker)
// can read it. One key per activity in the KV bucket wf_<ns>_heartbeats,
// overwritten by each write and removed when the activity ends; the
// bucket's TTL removes what a crashed worker left behind.

// DetailsTTL is how long heartbeat details outlive their last write.
const DetailsTTL = 7 * 24 * time.Hour

// ActivityRef names one activity call: its run and the ID of the event
// that scheduled it.
type ActivityRef struct {
	InstanceID  string
	ExecutionID string
	ScheduleID  int64
}

// detailsFormat is the first byte of stored heartbeat details.
const detailsFormat byte = 1

// detailsBucket binds the details bucket once, creating it if it is
// missing (a namespace provisioned before heartbeat details existed).
type detailsBucket struct {
	mu     sync.Mutex
	kv     jetstream.KeyValue
	stream jetstream.Stream // the bucket's stream, for purges that leave no marker
}

func (b *Backend) detailsKV(ctx context.Context) (jetstream.KeyValue, jetstream.Stream, error) {
	d := &b.details
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kv != nil {
		return d.kv, d.stream, nil
	}
	name := b.n.detailsBucket()
	kv, err := b.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.ensureKV(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "jetflow activity heartbeat details, one key per activity",
			History:     1,
			TTL:         DetailsTTL,
			Storage:     b.opts.storage,
			Replicas:    b.opts.replicas,
		})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("streams: heartbeat details bucket: %w", err)
	}
	st, err := b.js.Stream(ctx, "KV_"+name)
	if err != nil {
		return nil, nil, fmt.Errorf("streams: heartbeat details bucket: %w", err)
	}
	d.kv, d.stream = kv, st
	return kv, st, nil
}

func (b *Backend) detailsKey(a ActivityRef) (string, error) {
	inst, err := EncodeInstanceID(a.InstanceID)
	if err != nil {
		return "", err
	}
	if err := CheckExecutionID(a.ExecutionID); err != nil {
		return "", err
	}
	if a.ScheduleID <= 0 {
		return "", fmt.Errorf("%w: schedule ID %d", ErrInvalidName, a.ScheduleID)
	}
	return b.n.detailsKey(inst, a.ExecutionID, a.ScheduleID), nil
}

// PutHeartbeatDetails stores an activity's latest heartbeat details (each
// value encoded by the caller), replacing what was there.
func (b *Backend) PutHeartbeatDetails(ctx context.Context, a ActivityRef, details [][]byte) error {
	key, err := b.detailsKey(a)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteByte(detailsFormat)
	if err := msgpack.NewEncoder(&buf).Encode(details); err != nil {
		return fmt.Errorf("streams: encode heartbeat details: %w", err)
	}
	if err := b.checkSize("heartbeat details", buf.Len()+len(key)+64); err != nil {
		return err
	}
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	kv, _, err := b.detailsKV(bctx)
	if err != nil {
		return err
	}
	if _, err := kv.Put(bctx, key, buf.Bytes()); err != nil {
		return fmt.Errorf("streams: store heartbeat details of %s: %w", key, err)
	}
	return nil
}

// HeartbeatDetails reads an activity's stored heartbeat details; ok is
// false when there are none.
func (b *Backend) HeartbeatDetails(ctx context.Context, a ActivityRef) (details [][]byte, ok bool, err error) {
	key, err := b.detailsKey(a)
	if err != nil {
		return nil, false, err
	}
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	kv, _, err := b.detailsKV(bctx)
	if err != nil {
		return nil, false, err
	}
	e, err := kv.Get(bctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("streams: read heartbeat details of %s: %w", key, err)
	}
	data := e.Value()
	if len(data) == 0 || data[0] != detailsFormat {
		return nil, false, fmt.Errorf("%w: heartbeat details of %s in an unknown format", history.ErrMalformed, key)
	}
	if err := wire.Check(data[1:]); err != nil {
		return nil, false, fmt.Errorf("%w: heartbeat details of %s: %v", history.ErrMalformed, key, err)
	}
	if err := msgpack.Unmarshal(data[1:], &details); err != nil {
		return nil, false, fmt.Errorf("%w: heartbeat details of %s: %v", history.ErrMalformed, key, err)
	}
	return details, true, nil
}

// DeleteHeartbeatDetails removes an activity's heartbeat details, leaving
// no marker behind; removing none is not an error.
func (b *Backend) DeleteHeartbeatDetails(ctx context.Context, a ActivityRef) error {
	key, err := b.detailsKey(a)
	if err != nil {
		return err
	}
	return b.purgeDetailsKey(ctx, key, "heartbeat details")
}

// purgeDetailsKey removes key from the details bucket with every message
// it had, leaving no delete marker (what names it in the error).
func (b *Backend) purgeDetailsKey(ctx context.Context, key, what string) error {
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	_, st, err := b.detailsKV(bctx)
	if err != nil {
		return err
	}
	if err := st.Purge(bctx, jetstream.WithPurgeSubject(b.n.detailsSubject(key))); err != nil {
		return fmt.Errorf("streams: remove %s of %s: %w", what, key, err)
	}
	return nil
}
