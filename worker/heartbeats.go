package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/streams"
)

// detailsInterval is the least time between two writes of an attempt's
// heartbeat details: an activity may heartbeat far more often, and only
// the last details matter.
const detailsInterval = 2 * time.Second

// attemptDetails keeps the heartbeat details of one activity attempt: the
// details it records (encoded at once, written to the backend at most
// every detailsInterval and when the attempt fails) and those earlier
// attempts left (read when the activity first asks). An attempt that never
// records details and never asks costs nothing.
type attemptDetails struct {
	w       *Worker
	ref     streams.ActivityRef
	attempt int
	log     *slog.Logger
	kick    chan struct{} // a write may be due

	mu        sync.Mutex
	pending   [][]byte // recorded, not yet written
	wrote     bool     // this attempt stored details
	lastWrite time.Time

	readOnce sync.Once
	earlier  [][]byte // what earlier attempts left; nil: nothing
}

func newAttemptDetails(w *Worker, ref streams.ActivityRef, attempt int, log *slog.Logger) *attemptDetails {
	return &attemptDetails{w: w, ref: ref, attempt: attempt, log: log, kick: make(chan struct{}, 1)}
}

// record takes the details of a heartbeat. Details that do not encode are
// logged and dropped: a heartbeat never fails the activity.
func (d *attemptDetails) record(details []any) {
	if len(details) == 0 {
		return
	}
	enc := make([][]byte, len(details))
	for i, v := range details {
		b, err := d.w.conv.Encode(v)
		if err != nil {
			d.log.Warn("heartbeat details do not encode; dropped", logkey.Err, err)
			return
		}
		enc[i] = b
	}
	d.mu.Lock()
	d.pending = enc
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// flush writes the pending details if detailsInterval has passed since the
// last write, or at once when force.
func (d *attemptDetails) flush(force bool) {
	d.mu.Lock()
	pending := d.pending
	if pending == nil || (!force && time.Since(d.lastWrite) < detailsInterval) {
		d.mu.Unlock()
		return
	}
	d.pending = nil
	d.lastWrite = time.Now()
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.w.b.PutHeartbeatDetails(ctx, d.ref, pending); err != nil {
		if errors.Is(err, streams.ErrPayloadTooLarge) {
			// Heartbeat details are not moved to the object store;
			// trying these again would fail again.
			d.log.Warn("heartbeat details are too large to store; dropped (a later attempt will not get them)", logkey.Err, err)
			return
		}
		d.log.Warn("storing heartbeat details failed", logkey.Err, err)
		d.mu.Lock()
		if d.pending == nil {
			d.pending = pending // try again with the next write
		}
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	d.wrote = true
	d.mu.Unlock()
}

// previous decodes the first of the details an earlier attempt recorded
// into v; false when there are none. The first attempt has none.
func (d *attemptDetails) previous(v any) bool {
	if d.attempt <= 1 {
		return false
	}
	d.readOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		details, ok, err := d.w.b.HeartbeatDetails(ctx, d.ref)
		if err != nil {
			d.log.Warn("reading the last attempt's heartbeat details failed", logkey.Err, err)
			return
		}
		if ok && len(details) > 0 {
			d.earlier = details
		}
	})
	if d.earlier == nil {
		return false
	}
	if err := d.w.conv.Decode(d.earlier[0], v); err != nil {
		d.log.Warn("the last attempt's heartbeat details do not decode", logkey.Err, err)
		return false
	}
	return true
}

// remove deletes the activity's stored details once it has ended: those of
// this attempt, or of an earlier one (which only a retry can have left).
func (d *attemptDetails) remove() {
	d.mu.Lock()
	wrote := d.wrote
	d.mu.Unlock()
	if !wrote && d.attempt <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.w.b.DeleteHeartbeatDetails(ctx, d.ref); err != nil {
		d.log.Debug("removing heartbeat details failed; their TTL will", logkey.Err, err)
	}
}
