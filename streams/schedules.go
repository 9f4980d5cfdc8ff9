package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/internal/logkey"
)

// Schedules: the record of each schedule is a key of the KV bucket
// wf_<ns>_schedules (the source of truth); its next fire is one message
// schedule ("@at <time>") on wft.<ns>.z.<sched> whose target is
// wft.<ns>.f.<sched>, a subject of the task stream that workers consume
// through the namespace's one schedule consumer. See docs/schedules.md.

// MaxScheduleIDLength bounds a schedule ID, so that the ID of an instance
// it starts (<ScheduleID>-<fire time>) fits MaxInstanceIDLength.
const MaxScheduleIDLength = 200

// MaxRecentFires is how many fires a schedule record keeps.
const MaxRecentFires = 20

var (
	// ErrScheduleNotFound means the namespace has no schedule of that ID.
	ErrScheduleNotFound = errors.New("schedule not found")
	// ErrScheduleExists means a schedule of that ID exists already.
	ErrScheduleExists = errors.New("schedule already exists")
)

// EncodeScheduleID turns a schedule ID into its subject token and KV key,
// as EncodeInstanceID does for instances.
func EncodeScheduleID(id string) (string, error) {
	if err := checkName("schedule ID", id, MaxScheduleIDLength); err != nil {
		return "", err
	}
	return encodeToken(id), nil
}

// ScheduleRecord is a schedule as stored (JSON, readable with any NATS
// tool). The client owns its meaning; streams stores it.
type ScheduleRecord struct {
	ScheduleID string `json:"schedule_id"`

	// The spec.
	Cron     string        `json:"cron,omitempty"`
	Every    time.Duration `json:"every,omitempty"`
	Offset   time.Duration `json:"offset,omitempty"`
	TimeZone string        `json:"time_zone,omitempty"`
	StartAt  time.Time     `json:"start_at,omitzero"`
	EndAt    time.Time     `json:"end_at,omitzero"`
	Jitter   time.Duration `json:"jitter,omitempty"`

	// The action.
	Workflow string   `json:"workflow"`
	Queue    string   `json:"queue"`
	Args     [][]byte `json:"args,omitempty"`

	Overlap       string        `json:"overlap"`
	CatchupWindow time.Duration `json:"catchup_window"`

	Paused    bool      `json:"paused,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// State kept by the fires.
	// NextFire is the nominal time the message schedule is armed for
	// (zero: none, the schedule is paused or has ended).
	NextFire time.Time `json:"next_fire,omitzero"`
	// LastFire is the nominal time of the latest scheduled fire handled;
	// a scheduled fire at or before it is a duplicate.
	LastFire time.Time `json:"last_fire,omitzero"`
	// LastInstance is the instance the latest start made; the overlap
	// policy looks at it.
	LastInstance string `json:"last_instance,omitempty"`
	// Buffered is the fire waiting for LastInstance to end (OverlapBufferOne).
	Buffered    time.Time      `json:"buffered,omitzero"`
	RecentFires []ScheduleFire `json:"recent_fires,omitempty"`
	Fires       int64          `json:"fires,omitempty"`  // fires handled
	Missed      int64          `json:"missed,omitempty"` // fires that came later than the catch-up window
	Skipped     int64          `json:"skipped,omitempty"`

	// Revision is the KV revision read; not stored.
	Revision uint64 `json:"-"`
}

// ScheduleFire is one handled fire, as stored in the record.
type ScheduleFire struct {
	FireTime   time.Time `json:"fire_time"`
	Kind       string    `json:"kind"`
	InstanceID string    `json:"instance_id,omitempty"`
	Outcome    string    `json:"outcome"`
	HandledAt  time.Time `json:"handled_at"`
	Reason     string    `json:"reason,omitempty"`
}

// AddFire appends a fire to the record's recent fires, keeping the newest
// MaxRecentFires.
func (r *ScheduleRecord) AddFire(f ScheduleFire) {
	r.RecentFires = append(r.RecentFires, f)
	if n := len(r.RecentFires); n > MaxRecentFires {
		r.RecentFires = append(r.RecentFires[:0:0], r.RecentFires[n-MaxRecentFires:]...)
	}
}

// ScheduleFireMessage is the body of a fire: the message schedule's own
// body, copied by the server to the fire subject when it fires, or a fire
// published straight away (a trigger, a backfill).
type ScheduleFireMessage struct {
	ScheduleID string    `json:"schedule_id"`
	FireTime   time.Time `json:"fire_time"` // the nominal time
	Kind       string    `json:"kind"`      // "scheduled", "trigger", "backfill"
	Overlap    string    `json:"overlap,omitempty"`

	// Redelivered is set by ScheduleFireQueue.Fetch when the message was
	// delivered before (so an earlier handling may have started its
	// instance); it is not part of the body.
	Redelivered bool `json:"-"`
}

// scheduleBucket binds the schedules bucket once, creating it on first use.
type scheduleBucket struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

func (b *Backend) schedulesKV(ctx context.Context) (jetstream.KeyValue, error) {
	return b.bindSchedulesKV(ctx, true)
}

// bindSchedulesKV binds the bucket; without create, a missing bucket gives
// an error matching jetstream.ErrBucketNotFound.
func (b *Backend) bindSchedulesKV(ctx context.Context, create bool) (jetstream.KeyValue, error) {
	s := &b.schedules
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	name := b.n.schedulesBucket()
	kv, err := b.js.KeyValue(ctx, name)
	if create && errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = b.ensureKV(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "jetflow schedules, one key per schedule",
			History:     1,
			Storage:     b.opts.storage,
			Replicas:    b.opts.replicas,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("streams: schedules bucket: %w", err)
	}
	s.kv = kv
	return kv, nil
}

// CreateSchedule stores a new schedule record; an ID in use gives an
// error matching ErrScheduleExists.
func (b *Backend) CreateSchedule(ctx context.Context, r *ScheduleRecord) error {
	key, err := EncodeScheduleID(r.ScheduleID)
	if err != nil {
		return err
	}
	kv, err := b.schedulesKV(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("streams: encode schedule %q: %w", r.ScheduleID, err)
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	rev, err := kv.Create(rctx, key, data)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("streams: %w: %q", ErrScheduleExists, r.ScheduleID)
		}
		return fmt.Errorf("streams: create schedule %q: %w", r.ScheduleID, err)
	}
	r.Revision = rev
	return nil
}

// GetSchedule reads a schedule record; none gives ErrScheduleNotFound.
func (b *Backend) GetSchedule(ctx context.Context, id string) (*ScheduleRecord, error) {
	key, err := EncodeScheduleID(id)
	if err != nil {
		return nil, err
	}
	kv, err := b.schedulesKV(ctx)
	if err != nil {
		return nil, err
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	var data []byte
	var rev uint64
	e, err := kv.Get(rctx, key)
	switch {
	case err == nil:
		data, rev = e.Value(), e.Revision()
	case errors.Is(err, jetstream.ErrKeyNotFound):
		// A replica behind the leader may not have a schedule created a
		// moment ago: only the leader's answer is "not found".
		var found bool
		if data, rev, found, err = b.kvLatest(ctx, b.n.schedulesBucket(), key); err != nil {
			return nil, fmt.Errorf("streams: get schedule %q: %w", id, err)
		}
		if !found {
			return nil, fmt.Errorf("streams: %w: %q", ErrScheduleNotFound, id)
		}
	default:
		return nil, fmt.Errorf("streams: get schedule %q: %w", id, err)
	}
	var r ScheduleRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("streams: schedule %q: malformed record: %w", id, err)
	}
	r.Revision = rev
	return &r, nil
}

// UpdateSchedule replaces a record on the condition that it is still at
// r.Revision; otherwise the error wraps ErrRevisionConflict (and
// ErrScheduleNotFound when it was deleted meanwhile).
func (b *Backend) UpdateSchedule(ctx context.Context, r *ScheduleRecord) error {
	key, err := EncodeScheduleID(r.ScheduleID)
	if err != nil {
		return err
	}
	kv, err := b.schedulesKV(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("streams: encode schedule %q: %w", r.ScheduleID, err)
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	rev, err := kv.Update(rctx, key, data, r.Revision)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err) {
			return fmt.Errorf("%w: schedule %q at revision %d", ErrRevisionConflict, r.ScheduleID, r.Revision)
		}
		return fmt.Errorf("streams: update schedule %q: %w", r.ScheduleID, err)
	}
	r.Revision = rev
	return nil
}

// DeleteSchedule removes a schedule record (a purge: nothing of it stays).
func (b *Backend) DeleteSchedule(ctx context.Context, id string) error {
	key, err := EncodeScheduleID(id)
	if err != nil {
		return err
	}
	kv, err := b.schedulesKV(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := kv.Purge(rctx, key); err != nil {
		return fmt.Errorf("streams: delete schedule %q: %w", id, err)
	}
	return nil
}

// ListSchedules reads every schedule record of the namespace, in no
// particular order (batched direct gets: a request per thousand). A
// namespace that never had a schedule has none (and no bucket is made).
func (b *Backend) ListSchedules(ctx context.Context) ([]*ScheduleRecord, error) {
	if _, err := b.bindSchedulesKV(ctx, false); err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, nil
		}
		return nil, err
	}
	bucket := b.n.schedulesBucket()
	var out []*ScheduleRecord
	_, err := b.readSubject(ctx, "KV_"+bucket, "$KV."+bucket+".>", 1, withMetadata, func(m *storedMsg) error {
		if len(m.Data) == 0 || m.Header.Get("KV-Operation") != "" {
			return nil // a delete or purge marker
		}
		var r ScheduleRecord
		if err := json.Unmarshal(m.Data, &r); err != nil {
			b.log.Warn("skipping malformed schedule record", logkey.Subject, m.Subject, logkey.Err, err)
			return nil
		}
		r.Revision = m.Seq
		out = append(out, &r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("streams: list schedules: %w", err)
	}
	return out, nil
}

// ArmSchedule sets the schedule's one message schedule to fire the
// scheduled fire of nominal time fire at time at (fire plus jitter; at
// least now). Arming again replaces what was armed: the server keeps one
// schedule message per subject.
func (b *Backend) ArmSchedule(ctx context.Context, id string, fire, at time.Time) error {
	tok, err := EncodeScheduleID(id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(ScheduleFireMessage{ScheduleID: id, FireTime: fire.UTC(), Kind: "scheduled"})
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: b.n.scheduleArm(tok), Data: data, Header: nats.Header{}}
	msg.Header.Set(hdrSchedule, "@at "+at.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, b.n.scheduleFire(tok))
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: arm schedule %q for %s: %w", id, fire.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// DisarmSchedule removes the schedule's message schedule, if any.
func (b *Backend) DisarmSchedule(ctx context.Context, id string) error {
	tok, err := EncodeScheduleID(id)
	if err != nil {
		return err
	}
	pctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.tasks.Purge(pctx, jetstream.WithPurgeSubject(b.n.scheduleArm(tok))); err != nil {
		return fmt.Errorf("streams: disarm schedule %q: %w", id, err)
	}
	return nil
}

// ArmedFire returns the nominal fire time the schedule's message schedule
// is armed for, and false when none is armed.
func (b *Backend) ArmedFire(ctx context.Context, id string) (time.Time, bool, error) {
	tok, err := EncodeScheduleID(id)
	if err != nil {
		return time.Time{}, false, err
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	m, err := b.tasks.GetLastMsgForSubject(rctx, b.n.scheduleArm(tok))
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, fmt.Errorf("streams: read schedule %q: %w", id, err)
	}
	var f ScheduleFireMessage
	if err := json.Unmarshal(m.Data, &f); err != nil {
		return time.Time{}, false, nil // not ours to read: arm it again
	}
	return f.FireTime, true, nil
}

// PublishScheduleFire publishes a fire straight to the fire subject (a
// trigger or a backfill). msgID makes a retried publish count once within
// the duplicate window.
func (b *Backend) PublishScheduleFire(ctx context.Context, f ScheduleFireMessage, msgID string) error {
	tok, err := EncodeScheduleID(f.ScheduleID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: b.n.scheduleFire(tok), Data: data, Header: nats.Header{}}
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	if _, err := b.publish(ctx, msg); err != nil {
		return fmt.Errorf("streams: publish a %s fire of schedule %q: %w", f.Kind, f.ScheduleID, err)
	}
	return nil
}

// ScheduleFireQueue reads the namespace's schedule fires through its one
// durable consumer, shared by all workers.
type ScheduleFireQueue struct {
	b    *Backend
	cons jetstream.Consumer
}

// ScheduleFireMessageIn is one fetched fire. When its body does not
// decode, Err says why: dead-letter it.
type ScheduleFireMessageIn struct {
	TaskMessage
	Fire ScheduleFireMessage
	Err  error
}

// ScheduleFires binds to the schedule consumer, creating it if needed.
func (b *Backend) ScheduleFires(ctx context.Context) (*ScheduleFireQueue, error) {
	cons, err := b.ensureConsumer(ctx, b.tasks, b.n.scheduleConsumer(), b.n.scheduleFireAll(), "schedule fires")
	if err != nil {
		return nil, err
	}
	return &ScheduleFireQueue{b: b, cons: cons}, nil
}

// Pending returns how many fires wait in the queue and how many are
// delivered but not yet acknowledged.
func (q *ScheduleFireQueue) Pending(ctx context.Context) (waiting, unacked uint64, err error) {
	rctx, cancel := q.b.bounded(ctx)
	defer cancel()
	info, err := q.cons.Info(rctx)
	if err != nil {
		return 0, 0, fmt.Errorf("streams: schedule consumer: %w", err)
	}
	return info.NumPending, uint64(info.NumAckPending), nil
}

// Fetch pulls up to max fires, waiting at most wait for the first.
func (q *ScheduleFireQueue) Fetch(ctx context.Context, max int, wait time.Duration) ([]*ScheduleFireMessageIn, error) {
	msgs, err := fetch(ctx, q.cons, max, wait)
	if err != nil {
		return nil, fmt.Errorf("streams: fetch schedule fires: %w", err)
	}
	out := make([]*ScheduleFireMessageIn, len(msgs))
	for i, m := range msgs {
		in := &ScheduleFireMessageIn{TaskMessage: newTaskMessage(m)}
		in.Fire.Redelivered = in.Deliveries() > 1
		if err := json.Unmarshal(m.Data(), &in.Fire); err != nil {
			in.Err = fmt.Errorf("streams: malformed schedule fire on %s: %w", m.Subject(), err)
		} else if in.Fire.ScheduleID == "" || in.Fire.FireTime.IsZero() {
			in.Err = fmt.Errorf("streams: schedule fire on %s lacks its schedule or time", m.Subject())
		} else if tok, _ := EncodeScheduleID(in.Fire.ScheduleID); !strings.HasSuffix(m.Subject(), "."+tok) {
			in.Err = fmt.Errorf("streams: schedule fire on %s names schedule %q", m.Subject(), in.Fire.ScheduleID)
		}
		out[i] = in
	}
	return out, nil
}
