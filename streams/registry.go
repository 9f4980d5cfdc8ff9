package streams

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
)

// Status is where an instance's current run stands.
type Status string

// The statuses of a run.
const (
	StatusRunning        Status = "running"
	StatusCompleted      Status = "completed"
	StatusFailed         Status = "failed"
	StatusCanceled       Status = "canceled"
	StatusTerminated     Status = "terminated"
	StatusContinuedAsNew Status = "continued-as-new"
)

const (
	defaultListLimit      = 100
	maxListLimit          = 10000
	registryRecordVersion = 1
)

// Statuses lists every status, for validation and for UIs.
var Statuses = []Status{StatusRunning, StatusCompleted, StatusFailed, StatusCanceled, StatusTerminated, StatusContinuedAsNew}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Finished reports whether a run with this status is over.
func (s Status) Finished() bool { return s.Valid() && s != StatusRunning }

// StatusOf is the status a run has after an event of kind k: the status
// its final event gives it, StatusRunning for any other kind.
func StatusOf(k history.Kind) Status {
	switch k {
	case history.WorkflowCompleted:
		return StatusCompleted
	case history.WorkflowFailed:
		return StatusFailed
	case history.WorkflowCanceled:
		return StatusCanceled
	case history.WorkflowTerminated:
		return StatusTerminated
	case history.WorkflowContinuedAsNew:
		return StatusContinuedAsNew
	}
	return StatusRunning
}

// InstanceRecord is an instance's entry in the registry: a projection of its
// histories for listing and lookup (the history is the truth). It is stored
// as JSON so operators can read it with any NATS tool.
type InstanceRecord struct {
	// Version is the record's layout version.
	Version      int    `json:"v"`
	InstanceID   string `json:"instance_id"`
	WorkflowName string `json:"workflow"`
	Queue        string `json:"queue"`
	// ExecutionID is the current (latest) run.
	ExecutionID string `json:"execution_id"`
	// Runs lists earlier runs of the instance, oldest first: runs that
	// continued as new, and finished runs whose ID was reused. It keeps
	// the newest MaxListedRuns; EarlierRuns counts those before them.
	Runs        []string        `json:"runs,omitempty"`
	EarlierRuns int             `json:"earlier_runs,omitempty"`
	Status      Status          `json:"status"`
	Parent      *history.Parent `json:"parent,omitempty"`

	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	// Result is the encoded result of a completed run; Failure the error
	// of a failed one.
	Result []byte `json:"result,omitempty"`
	// ResultInHistory says the result was too large for the record: read
	// it from the final event of the run's history.
	ResultInHistory bool             `json:"result_in_history,omitempty"`
	Failure         *history.Failure `json:"failure,omitempty"`
	// HistoryEvents is the length of a finished run's history (0 while
	// it runs: describe reads the history for its size).
	HistoryEvents int `json:"history_events,omitempty"`
	// Memo is the instance's memo as its run's start gave it: values
	// encoded by the converter, not indexed.
	Memo map[string][]byte `json:"memo,omitempty"`
	// StartAt is when a delayed start (WorkflowInstanceOptions.StartDelay)
	// puts the current run's start in its inbox; zero for a start at once.
	StartAt time.Time `json:"start_at,omitzero"`
	// SearchAttributes are the instance's keyword attributes
	// (CheckSearchAttributes), each indexed for lists to filter by. They
	// are kept across continue-as-new and replaced when the ID is reused.
	SearchAttributes map[string]string `json:"search_attributes,omitempty"`

	// Revision is the registry revision the record was read at (not stored).
	Revision uint64 `json:"-"`

	// indexedAs is the list-index subject of the record as read or last
	// written (not stored): an update that keeps it leaves the index alone.
	indexedAs string
	// indexedAttrs are the search attributes whose index rows the record
	// had as read or last written, when attrsIndexed (not stored).
	indexedAttrs map[string]string
	attrsIndexed bool
}

func (r *InstanceRecord) validate() error {
	if r == nil {
		return errors.New("streams: nil instance record")
	}
	if _, err := EncodeInstanceID(r.InstanceID); err != nil {
		return err
	}
	if r.ExecutionID != "" {
		if err := CheckExecutionID(r.ExecutionID); err != nil {
			return err
		}
	}
	if !r.Status.Valid() {
		return fmt.Errorf("streams: instance %q has unknown status %q", r.InstanceID, r.Status)
	}
	return nil
}

func (b *Backend) encodeRecord(r *InstanceRecord) ([]byte, string, error) {
	if err := r.validate(); err != nil {
		return nil, "", err
	}
	key, _ := EncodeInstanceID(r.InstanceID)
	r.Version = registryRecordVersion
	data, err := json.Marshal(r)
	if err != nil {
		return nil, "", fmt.Errorf("streams: encode instance record: %w", err)
	}
	if err := b.checkSize("instance record of "+r.InstanceID, len(data)+len(key)+64); err != nil {
		return nil, "", err
	}
	return data, key, nil
}

func decodeRecord(data []byte, rev uint64) (*InstanceRecord, error) {
	var r InstanceRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: instance record: %v", history.ErrMalformed, err)
	}
	r.Revision = rev
	r.indexedAs = unknownRow // set by the backend that read it
	return &r, nil
}

// CreateInstance adds a registry entry; it is the uniqueness gate for
// instance IDs. If the ID has an entry already, the error wraps
// ErrInstanceExists. It returns the new revision.
func (b *Backend) CreateInstance(ctx context.Context, r *InstanceRecord) (uint64, error) {
	data, key, err := b.encodeRecord(r)
	if err != nil {
		return 0, err
	}
	// The common case, a key never used, is one publish that expects the
	// key's subject to be empty. A key whose last entry is a delete marker
	// (a removed instance) fails that check; the KV client's Create knows
	// to take that case over.
	rev, err := b.putRecord(ctx, key, data, 0)
	if isWrongLastSequence(err) {
		rctx, cancel := b.bounded(ctx)
		defer cancel()
		rev, err = b.registry.Create(rctx, key, data)
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err) {
			return 0, fmt.Errorf("streams: %w: %q", ErrInstanceExists, r.InstanceID)
		}
		return 0, fmt.Errorf("streams: create instance %q: %w", r.InstanceID, err)
	}
	r.Revision = rev
	b.ownRevs.note(key, rev)
	b.indexAfterWrite(ctx, r, true)
	return rev, nil
}

// indexAfterWrite queues r's index change after its registry write: its
// row, unless the row it has is already right, and its search attribute
// rows. A new instance's change is waited for (wait); a status change is
// not (docs/architecture.md, "List index"). A failure is logged, not
// returned: the record is written and is the truth; a list repairs the
// row (checkRows), as does RebuildIndex.
func (b *Backend) indexAfterWrite(ctx context.Context, r *InstanceRecord, wait bool) {
	if b.index == nil {
		return
	}
	subj := b.indexSubject(r)
	rowChanged := subj != r.indexedAs
	attrsChanged := !r.attrsIndexed || !maps.Equal(r.indexedAttrs, r.SearchAttributes)
	if !rowChanged && !attrsChanged {
		return
	}
	j := &indexJob{instanceID: r.InstanceID}
	if rowChanged {
		j.subj, j.old = subj, r.indexedAs
	}
	if attrsChanged {
		b.planAttrRows(j, r)
	}
	r.indexedAs = subj
	r.indexedAttrs, r.attrsIndexed = maps.Clone(r.SearchAttributes), true
	if err := b.indexWriter.enqueue(ctx, j, wait); err != nil {
		b.log.Warn("index row not written; lists repair it", logkey.Instance, r.InstanceID, logkey.Err, err)
	}
}

// putRecord stores an entry on the condition that the key's last revision
// is rev (0: the key has none), as the KV client's Update does, through the
// backend's own publish.
func (b *Backend) putRecord(ctx context.Context, key string, data []byte, rev uint64) (uint64, error) {
	msg := &nats.Msg{Subject: "$KV." + b.n.registryBucket() + "." + key, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(rev, 10))
	ack, err := b.publish(ctx, msg)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// GetInstance reads an instance's registry entry; the error wraps
// ErrInstanceNotFound when there is none.
//
// It is one direct get, which any replica may answer. An answer that may
// be stale is checked with the registry's leader, so a write acknowledged
// before the call is seen: "not found" (the instance may have been created
// a moment ago), and a revision older than one this backend wrote or saw
// refused. A newer write made elsewhere may still be missed for a moment;
// GetInstanceLatest sees every acknowledged write.
func (b *Backend) GetInstance(ctx context.Context, instanceID string) (*InstanceRecord, error) {
	return b.getInstance(ctx, instanceID, false)
}

// GetInstanceLatest reads an instance's registry entry from the leader of
// the registry's stream: it reflects every write acknowledged before the
// call, made by any process. It costs more than GetInstance; use it where
// an entry older than a write the caller knows of (from a result notice,
// say) would lead it astray.
func (b *Backend) GetInstanceLatest(ctx context.Context, instanceID string) (*InstanceRecord, error) {
	return b.getInstance(ctx, instanceID, true)
}

func (b *Backend) getInstance(ctx context.Context, instanceID string, latest bool) (*InstanceRecord, error) {
	key, err := EncodeInstanceID(instanceID)
	if err != nil {
		return nil, err
	}
	var data []byte
	var rev uint64
	if !latest {
		rctx, cancel := b.bounded(ctx)
		e, err := b.registry.Get(rctx, key)
		cancel()
		switch {
		case err == nil && e.Revision() >= b.ownRevs.least(key):
			data, rev = e.Value(), e.Revision()
		case err == nil || errors.Is(err, jetstream.ErrKeyNotFound):
			latest = true // maybe a replica behind the leader: ask the leader
		default:
			return nil, fmt.Errorf("streams: get instance %q: %w", instanceID, err)
		}
	}
	if latest {
		var found bool
		if data, rev, found, err = b.kvLatest(ctx, b.n.registryBucket(), key); err != nil {
			return nil, fmt.Errorf("streams: get instance %q: %w", instanceID, err)
		}
		if !found {
			return nil, fmt.Errorf("streams: %w: %q", ErrInstanceNotFound, instanceID)
		}
	}
	r, err := decodeRecord(data, rev)
	if err == nil {
		r.indexedAs = b.indexSubject(r)
		r.indexedAttrs, r.attrsIndexed = maps.Clone(r.SearchAttributes), true
	}
	return r, err
}

// UpdateInstance replaces an entry on the condition that it is still at
// revision rev; otherwise the error wraps ErrRevisionConflict. It returns the
// new revision.
func (b *Backend) UpdateInstance(ctx context.Context, r *InstanceRecord, rev uint64) (uint64, error) {
	data, key, err := b.encodeRecord(r)
	if err != nil {
		return 0, err
	}
	newRev, err := b.putRecord(ctx, key, data, rev)
	if err != nil {
		if isWrongLastSequence(err) || errors.Is(err, jetstream.ErrKeyExists) {
			b.ownRevs.note(key, rev+1) // the entry has moved on: a read must show that
			return 0, fmt.Errorf("%w: %q at revision %d", ErrRevisionConflict, r.InstanceID, rev)
		}
		return 0, fmt.Errorf("streams: update instance %q: %w", r.InstanceID, err)
	}
	r.Revision = newRev
	b.ownRevs.note(key, newRev)
	if r.indexedAs == "" {
		r.indexedAs = unknownRow // a record not read here: its old row is unknown
	}
	b.indexAfterWrite(ctx, r, false)
	return newRev, nil
}

// registryMarkerTTL is how long the registry keeps the marker that a
// removal leaves on the instance's key. The marker tells watchers and
// direct reads that the entry was removed; kept for ever, a namespace
// with retention would gain one marker per instance it ever ran, so the
// server expires it (a per-message TTL; the bucket's LimitMarkerTTL
// allows it). A minute lets a watcher that far behind still see the
// removal; one further behind sees the key gone, as a new watcher does.
const registryMarkerTTL = time.Minute

// markerExpiry is the purge option that gives a removal's marker its TTL,
// or nil (no option) on a bucket provisioned before markers expired.
func (b *Backend) markerExpiry() jetstream.KVDeleteOpt {
	if b.markerTTL <= 0 {
		return nil
	}
	return jetstream.PurgeTTL(b.markerTTL)
}

// DeleteInstance removes an instance's registry entry.
func (b *Backend) DeleteInstance(ctx context.Context, instanceID string) error {
	key, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.registry.Purge(rctx, key, b.markerExpiry()); err != nil {
		return fmt.Errorf("streams: delete instance %q: %w", instanceID, err)
	}
	b.ownRevs.noteDeleted(key)
	b.unindex(ctx, instanceID, nil)
	return nil
}

// unindex queues the removal of the index rows of an instance whose entry
// is deleted (of rec, when known: then nothing is looked up), without
// waiting: a failure is logged, and a list drops and removes rows without
// an entry.
func (b *Backend) unindex(ctx context.Context, instanceID string, rec *InstanceRecord) {
	if b.index == nil {
		return
	}
	if err := b.indexWriter.enqueue(ctx, b.removeJob(instanceID, rec), false); err != nil {
		b.log.Warn("index rows of a removed instance not purged; lists remove them", logkey.Instance, instanceID, logkey.Err, err)
	}
}

// DeleteInstanceAt removes an instance's registry entry if it is still at
// revision rev; otherwise it returns ErrRevisionConflict and removes
// nothing (a start reused the ID meanwhile, say).
func (b *Backend) DeleteInstanceAt(ctx context.Context, instanceID string, rev uint64) error {
	return b.deleteInstanceAt(ctx, instanceID, rev, nil)
}

// deleteInstanceAt is DeleteInstanceAt for the record rec at rev, when the
// caller has it (nil otherwise): its index rows are then known.
func (b *Backend) deleteInstanceAt(ctx context.Context, instanceID string, rev uint64, rec *InstanceRecord) error {
	key, err := EncodeInstanceID(instanceID)
	if err != nil {
		return err
	}
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	err = b.registry.Purge(rctx, key, jetstream.LastRevision(rev), b.markerExpiry())
	switch {
	case err == nil:
		b.ownRevs.noteDeleted(key)
		b.unindex(ctx, instanceID, rec)
		return nil
	case isWrongLastSequence(err) || errors.Is(err, jetstream.ErrKeyExists):
		return fmt.Errorf("streams: delete instance %q: %w", instanceID, ErrRevisionConflict)
	}
	return fmt.Errorf("streams: delete instance %q: %w", instanceID, err)
}

// ListOptions filter and page ListInstances.
type ListOptions struct {
	// Status keeps only instances with this status ("" for all).
	Status Status
	// WorkflowName keeps only instances of this workflow ("" for all).
	WorkflowName string
	// IDContains keeps only instances whose ID contains it, ignoring case
	// ("" for all).
	IDContains string
	// SearchAttributes keeps only instances that have every one of these
	// pairs, exactly (nil for all).
	SearchAttributes map[string]string
	// Limit is the page size: 100 when zero, at most 10,000.
	Limit int
	// After is the cursor from the previous page's NextCursor; empty for
	// the first page.
	After string
}

// InstancePage is one page of ListInstances.
type InstancePage struct {
	// Instances, newest first (by creation time, then ID).
	Instances []*InstanceRecord
	// NextCursor fetches the next page; empty when this is the last.
	NextCursor string
	// Counts holds how many instances have each status, over the whole
	// registry (before the status filter, after the workflow and ID
	// filters).
	Counts map[Status]int
}

// ListInstances lists registry entries newest first, filtered and paged.
// Paging is stable: instances created or changed after the first page do
// not shift later pages.
//
// It reads the list index (see index.go): newest first means by when an
// instance was created or last changed status, and a page costs about the
// page, whatever the size of the namespace; every record listed is read
// from the registry, the truth, and a stale index row is repaired. An
// IDContains search, and a namespace without an index (opened, not
// provisioned, from before it existed), read every entry of the registry
// instead, newest first by creation.
func (b *Backend) ListInstances(ctx context.Context, opts ListOptions) (*InstancePage, error) {
	if opts.Status != "" && !opts.Status.Valid() {
		return nil, fmt.Errorf("streams: unknown status %q (want one of %v)", opts.Status, Statuses)
	}
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 0 || limit > maxListLimit:
		return nil, fmt.Errorf("streams: list limit %d out of range 1..%d", limit, maxListLimit)
	}
	if err := checkFilterAttributes(opts.SearchAttributes); err != nil {
		return nil, fmt.Errorf("streams: list instances: %w", err)
	}
	if b.index != nil && opts.IDContains == "" {
		return b.listFromIndex(ctx, opts, limit)
	}
	var after *listCursor
	if opts.After != "" {
		c, err := parseCursor(opts.After)
		if err != nil {
			return nil, err
		}
		after = c
	}

	idContains := strings.ToLower(opts.IDContains)
	page := &InstancePage{Counts: map[Status]int{}}
	var all []*InstanceRecord
	_, err := b.readSubject(ctx, "KV_"+b.n.registryBucket(), "$KV."+b.n.registryBucket()+".>", 1, withMetadata, func(m *storedMsg) error {
		if len(m.Data) == 0 || m.Header.Get("KV-Operation") != "" {
			return nil // a delete or purge marker
		}
		r, err := decodeRecord(m.Data, m.Seq)
		if err != nil {
			b.log.Warn("skipping malformed registry entry", logkey.Subject, m.Subject, logkey.Err, err)
			return nil
		}
		if opts.WorkflowName != "" && r.WorkflowName != opts.WorkflowName {
			return nil
		}
		if idContains != "" && !strings.Contains(strings.ToLower(r.InstanceID), idContains) {
			return nil
		}
		if !hasAttributes(r.SearchAttributes, opts.SearchAttributes) {
			return nil
		}
		page.Counts[r.Status]++
		if opts.Status != "" && r.Status != opts.Status {
			return nil
		}
		if after != nil && !after.before(r) {
			return nil
		}
		all = append(all, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("streams: list instances: %w", err)
	}
	slices.SortFunc(all, newestFirst)
	if len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		page.NextCursor = (&listCursor{created: last.CreatedAt, id: last.InstanceID}).String()
	}
	page.Instances = all
	return page, nil
}

func newestFirst(a, b *InstanceRecord) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.InstanceID, b.InstanceID)
}

// listCursor is the position after the last entry of a page.
type listCursor struct {
	created time.Time
	id      string
}

// before reports whether r comes after the cursor in newest-first order.
func (c *listCursor) before(r *InstanceRecord) bool {
	return newestFirst(&InstanceRecord{CreatedAt: c.created, InstanceID: c.id}, r) < 0
}

func (c *listCursor) String() string {
	return c.created.UTC().Format(time.RFC3339Nano) + "|" + c.id
}

func parseCursor(s string) (*listCursor, error) {
	ts, id, ok := strings.Cut(s, "|")
	if !ok {
		return nil, fmt.Errorf("streams: malformed list cursor %q", s)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, fmt.Errorf("streams: malformed list cursor %q: %v", s, err)
	}
	return &listCursor{created: t, id: id}, nil
}
