package streams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/wire"
)

// Large payloads. A message (commit, inbox event, activity task) that would
// pass the server's max payload has its largest payloads moved to the
// namespace's object store (bucket wf_<ns>_payloads, created on first use);
// the message keeps a reference. A reference is a payload wrapped as
// wrapRef: the marker, the byte 2, then the msgpack of payloadRef. The
// object holds exactly the bytes the payload would have had inline (codec
// applied), so reading through the reference gives back the same payload.
// Objects are named <instance token>/<run>/<sha-256 of the bytes>: the
// same payload stored twice for one run is one object, and the removal of
// an instance deletes the objects its histories reference.

// WithPayloadThreshold moves every payload larger than n bytes to the
// namespace's object store, whatever the size of the message that holds
// it. Without it (or with 0) payloads move only when the message holding
// them would not fit the server's max payload: the largest first, until it
// fits. A negative n keeps every payload inline: a message too large for
// the server then fails with ErrPayloadTooLarge, as before the store
// existed.
func WithPayloadThreshold(n int) Option {
	return func(o *options) error {
		o.payloadThreshold = max(n, -1)
		return nil
	}
}

// ErrPayloadMissing is returned (wrapped) when a payload stored in the
// object store is not there any more (its instance was removed, or the
// bucket deleted).
var ErrPayloadMissing = errors.New("streams: stored payload is missing")

// wrapRef: a reference to a payload in the object store.
const wrapRef byte = 2

// payloadRef is the body of a reference.
type payloadRef struct {
	Name string `msgpack:"n"`
	Size int64  `msgpack:"s"`
}

// messageHeadroom is what a message's subject, headers and framing may
// take on top of its body.
const messageHeadroom = 8 << 10

// smallestMoved is the size below which moving a payload out would save
// nothing worth a round trip.
const smallestMoved = 1 << 10

// payloadStore is the namespace's object store, bound on first use.
type payloadStore struct {
	mu sync.Mutex
	os jetstream.ObjectStore

	// absentUpTo is the registry's last sequence read before a lookup
	// found no bucket (0: none did); absentAt is when the last lookup for
	// it ran.
	absentUpTo uint64
	absentAt   time.Time
}

// payloadsAbsentRecheck is how often a removal may look the bucket up
// again when the last lookup is too old to answer for its record.
const payloadsAbsentRecheck = time.Second

// payloadsAbsentAt reports whether the payload bucket is known to have
// not existed when the registry entry at revision rev was written: then
// the instance has no stored payload, for its payloads were stored before
// the commits that refer to them, and those were made before its entry's
// revision. A bucket created later was created after rev. The lookup runs
// at most once a payloadsAbsentRecheck, so the removals of a namespace
// without payloads (retention's: one per finished instance) mostly skip
// theirs.
func (b *Backend) payloadsAbsentAt(ctx context.Context, rev uint64) bool {
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	switch {
	case b.store.os != nil:
		return false
	case rev <= b.store.absentUpTo:
		return true
	case time.Since(b.store.absentAt) < payloadsAbsentRecheck:
		return false
	}
	b.store.absentAt = time.Now()
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	st, err := b.registry.Status(rctx)
	if err != nil {
		return false
	}
	kv, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return false
	}
	last := kv.StreamInfo().State.LastSeq // read before the lookup
	if exists, err := b.objectsExist(ctx, b.n.payloadsBucket()); err != nil || exists {
		return false
	}
	b.store.absentUpTo = max(b.store.absentUpTo, last)
	return rev <= b.store.absentUpTo
}

// objects binds the payload bucket, creating it when create is set. Without
// create, a missing bucket gives jetstream.ErrBucketNotFound.
func (b *Backend) objects(ctx context.Context, create bool) (jetstream.ObjectStore, error) {
	bucket := b.n.payloadsBucket()
	if !create {
		b.store.mu.Lock()
		os := b.store.os
		b.store.mu.Unlock()
		if os != nil {
			return os, nil
		}
		// Every removal asks, in a namespace that never stored a
		// payload: a direct get nobody answers is cheaper for the
		// server than the stream info binding the bucket costs.
		exists, err := b.objectsExist(ctx, bucket)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, jetstream.ErrBucketNotFound
		}
	}
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	if b.store.os != nil {
		return b.store.os, nil
	}
	os, err := b.js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		os, err = b.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      bucket,
			Description: "jetflow payloads too large for a message",
			Storage:     b.opts.storage,
			Replicas:    b.opts.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			os, err = b.js.ObjectStore(ctx, bucket) // made by another process meanwhile
		}
	}
	if err != nil {
		return nil, err
	}
	b.store.os = os
	return os, nil
}

// objectsExist reports whether the object store bucket exists, by a direct
// get on its stream (object stores allow direct gets): no responders means
// no stream.
func (b *Backend) objectsExist(ctx context.Context, bucket string) (bool, error) {
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	req, _ := json.Marshal(map[string]string{"last_by_subj": "$O." + bucket + ".M.probe"})
	_, err := b.nc.RequestWithContext(rctx, "$JS.API.DIRECT.GET.OBJ_"+bucket, req)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("streams: payload store: %w", err)
	}
	return true, nil
}

// payloadTimeout bounds a transfer of one payload to or from the object
// store: a missing or stuck object is an error, never a hang.
func (b *Backend) payloadTimeout() time.Duration { return max(30*time.Second, 6*b.opts.requestTimeout) }

// storePayload moves the payload *p to the object store under the run of
// instance token inst and replaces it with a reference.
func (b *Backend) storePayload(ctx context.Context, inst, run string, p *[]byte) error {
	data := *p
	if isRef(data) {
		return nil
	}
	sum := sha256.Sum256(data)
	if run == "" {
		run = "-"
	}
	name := inst + "/" + run + "/" + hex.EncodeToString(sum[:])
	ctx, cancel := context.WithTimeout(ctx, b.payloadTimeout())
	defer cancel()
	os, err := b.objects(ctx, true)
	if err != nil {
		return fmt.Errorf("streams: payload store %s: %w", b.n.payloadsBucket(), err)
	}
	if _, err := os.GetInfo(ctx, name); errors.Is(err, jetstream.ErrObjectNotFound) {
		// Chunks must fit the server's max payload, which may be smaller
		// than the object store's default chunk (128 KiB).
		chunk := uint32(min(128<<10, max(b.maxPayload()-messageHeadroom, 1<<10)))
		meta := jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunk}}
		if _, err := os.Put(ctx, meta, bytes.NewReader(data)); err != nil {
			return fmt.Errorf("streams: store a payload of %d bytes as %s: %w", len(data), name, err)
		}
	} else if err != nil {
		return fmt.Errorf("streams: look up stored payload %s: %w", name, err)
	}
	ref, err := msgpack.Marshal(payloadRef{Name: name, Size: int64(len(data))})
	if err != nil {
		return err
	}
	*p = append([]byte{payloadMarker, wrapRef}, ref...)
	return nil
}

// adoptPayload copies a payload stored for another run than inst's run to
// an object of that run, and points *p at it; other payloads are left.
func (b *Backend) adoptPayload(ctx context.Context, inst, run string, p *[]byte) error {
	if !isRef(*p) {
		return nil
	}
	r, err := parseRef((*p)[2:])
	if err != nil {
		return err
	}
	if run == "" {
		run = "-"
	}
	// Payloads sent to an instance without naming its run are stored
	// under "-" and referenced from there by the run that takes them.
	if strings.HasPrefix(r.Name, inst+"/"+run+"/") || strings.HasPrefix(r.Name, inst+"/-/") ||
		(run == "-" && strings.HasPrefix(r.Name, inst+"/")) {
		return nil
	}
	data, err := b.fetchPayload(r.Name)
	if err != nil {
		return fmt.Errorf("streams: copy a stored payload to run %s of %s: %w", run, inst, err)
	}
	if err := b.storePayload(ctx, inst, run, &data); err != nil {
		return err
	}
	*p = data
	return nil
}

// fetchPayload reads a stored payload.
func (b *Backend) fetchPayload(name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.payloadTimeout())
	defer cancel()
	os, err := b.objects(ctx, false)
	if err == nil {
		var data []byte
		if data, err = os.GetBytes(ctx, name); err == nil {
			return data, nil
		}
	}
	if errors.Is(err, jetstream.ErrObjectNotFound) || errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("%w: object %q of bucket %s (removed with its instance?)", ErrPayloadMissing, name, b.n.payloadsBucket())
	}
	return nil, fmt.Errorf("streams: read stored payload %q: %w", name, err)
}

func isRef(p []byte) bool { return len(p) >= 2 && p[0] == payloadMarker && p[1] == wrapRef }

// parseRef decodes a reference's body.
func parseRef(body []byte) (payloadRef, error) {
	var r payloadRef
	if err := wire.Check(body); err != nil {
		return r, fmt.Errorf("streams: payload reference: %w", err)
	}
	if err := msgpack.Unmarshal(body, &r); err != nil || r.Name == "" {
		return r, fmt.Errorf("streams: malformed payload reference (%v)", err)
	}
	return r, nil
}

// eventPayloads points at the payloads of events.
func eventPayloads(events []history.Event) []*[]byte {
	var ps []*[]byte
	for i := range events {
		e := &events[i]
		for j := range e.Args {
			ps = append(ps, &e.Args[j])
		}
		if e.Result != nil {
			ps = append(ps, &e.Result)
		}
	}
	return ps
}

// fitPayloads moves payloads of a message to the object store: those over
// the threshold, then the largest while size (the message's encoded size,
// computed only when the payloads alone come near the limit) is over the
// server's max payload. It changes the payloads in place.
func (b *Backend) fitPayloads(ctx context.Context, inst, run string, ps []*[]byte, size func() (int, error)) error {
	limit := int(b.maxPayload()) - messageHeadroom
	threshold := b.opts.payloadThreshold
	if threshold < 0 {
		return nil // kept inline (WithPayloadThreshold(-1))
	}
	total := 0
	for _, p := range ps {
		total += len(*p)
	}
	if limit <= 0 || (total < limit/2 && (threshold == 0 || !slices.ContainsFunc(ps, func(p *[]byte) bool { return len(*p) > threshold }))) {
		return nil // the common case: nothing near any limit
	}
	if threshold > 0 {
		for _, p := range ps {
			if len(*p) > threshold {
				if err := b.storePayload(ctx, inst, run, p); err != nil {
					return err
				}
			}
		}
	}
	n, err := size()
	if err != nil {
		return err
	}
	bySize := slices.Clone(ps)
	slices.SortStableFunc(bySize, func(x, y *[]byte) int { return len(*y) - len(*x) })
	for _, p := range bySize {
		if n <= limit || len(*p) < smallestMoved {
			break
		}
		before := len(*p)
		if err := b.storePayload(ctx, inst, run, p); err != nil {
			return err
		}
		n -= before - len(*p)
	}
	return nil
}

// fitEvents is fitPayloads for the events of a commit or an inbox message.
// A reference to an object stored for another run (a child's arguments
// stored under its parent, a signal's under its sender, a continued run's
// arguments under the run before) is first copied to an object of this
// run: removing that other instance, or the older run, deletes its
// objects, which must not take this run's payloads with them.
func (b *Backend) fitEvents(ctx context.Context, instanceID, executionID string, events []history.Event) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	ps := eventPayloads(events)
	for _, p := range ps {
		if err := b.adoptPayload(ctx, inst, executionID, p); err != nil {
			return err
		}
	}
	return b.fitPayloads(ctx, inst, executionID, ps, func() (int, error) {
		data, err := history.EncodeCommit(&history.Commit{ID: "x", Events: events})
		return len(data), err
	})
}

// deleteStoredPayloads deletes the stored payloads that the commits of
// every run of an instance before sequence end refer to. rev is the
// revision of the instance's registry entry, 0 if not known. A namespace
// that never stored a payload costs one lookup of the bucket, or none
// when a recent lookup answers for rev (payloadsAbsentAt).
func (b *Backend) deleteStoredPayloads(ctx context.Context, instanceID string, end, rev uint64) error {
	inst, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	if rev != 0 && b.payloadsAbsentAt(ctx, rev) {
		return nil
	}
	os, err := b.objects(ctx, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("streams: payload store: %w", err)
	}
	names := map[string]bool{}
	errEnd := errors.New("end")
	_, err = b.readSubject(ctx, b.n.historyStream(), b.n.historyOfInstance(inst), 1, withMetadata, func(m *storedMsg) error {
		if end > 0 && m.Seq >= end {
			return errEnd
		}
		c, err := history.DecodeCommit(m.Data)
		if err != nil {
			return nil // not ours to judge here; the purge removes it
		}
		for _, p := range eventPayloads(c.Events) {
			if !isRef(*p) {
				continue
			}
			if r, err := parseRef((*p)[2:]); err == nil && strings.HasPrefix(r.Name, inst+"/") {
				names[r.Name] = true
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnd) {
		return fmt.Errorf("streams: find the stored payloads of %q: %w", instanceID, err)
	}
	for name := range names {
		if err := b.deleteObject(ctx, os, name); err != nil {
			return fmt.Errorf("streams: delete stored payload %s: %w", name, err)
		}
	}
	return nil
}

// deleteObject removes an object's chunks, then its meta message. The
// object store's own Delete leaves a "deleted" meta message on the name
// for ever: one for each offloaded payload a removal deletes, which a
// namespace with retention would pile up. Chunks go first, so a removal
// cut short leaves a meta message the next try finds, never chunks
// nothing points at.
func (b *Backend) deleteObject(ctx context.Context, os jetstream.ObjectStore, name string) error {
	gctx, cancel := b.bounded(ctx)
	info, err := os.GetInfo(gctx, name, jetstream.GetObjectInfoShowDeleted())
	cancel()
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil
	case err != nil:
		return err
	}
	stream := "OBJ_" + b.n.payloadsBucket()
	if info.NUID != "" {
		if err := b.purgeFilter(ctx, stream, "$O."+b.n.payloadsBucket()+".C."+info.NUID); err != nil {
			return err
		}
	}
	return b.purgeFilter(ctx, stream, "$O."+b.n.payloadsBucket()+".M."+base64.URLEncoding.EncodeToString([]byte(name)))
}

// purgeFilter purges the messages of stream on filter with one request
// (no stream-info lookup first).
func (b *Backend) purgeFilter(ctx context.Context, stream, filter string) error {
	_, err := b.purgeRequest(ctx, stream, filter, 0)
	return err
}

// FitEvent moves payloads of an inbound event to the object store as
// PublishEvent would, so a caller can check the event's size before it
// writes anything else (a start checks before it registers the run).
func (b *Backend) FitEvent(ctx context.Context, instanceID string, e *history.Event) error {
	one := []history.Event{*e}
	if err := b.fitEvents(ctx, instanceID, e.ExecutionID, one); err != nil {
		return err
	}
	*e = one[0]
	return nil
}
