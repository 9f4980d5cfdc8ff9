package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/logkey"
)

// The list index: one stream per namespace, WF_<ns>_INDEX, with one message
// per instance on wfx.<ns>.<status>.<workflow>.<inst> (MaxMsgsPerSubject 1).
// The subject carries what a list filters by, so a status or workflow
// filter is a subject filter; the stream's order is the order in which
// instances were created or last changed status, so reading backwards from
// its last sequence lists the newest first. The registry stays the source
// of truth: a row is written after its record, and a list checks every row
// it returns against the record, repairing rows a crash left stale
// (RebuildIndex repairs the whole index).
//
// Search attributes: each pair an instance has is one more row, on
// wfx.<ns>.a.<key>.<value>.<inst> (the value a token as an instance ID
// is), written after the record when the pair is set and purged when it
// changes or the instance is removed. A list filtered by attributes reads
// the rows of its first pair (by key) newest first, by when the pair was
// set, and checks the other pairs, the status and the workflow against the
// record. These rows have six tokens, so no status-row filter
// (wfx.<ns>.*.*.*) matches them.

// Rows have no body: the subject says all a list needs before it reads
// the record (the instance is its last token), and the smaller a row the
// more rows a message block holds, so the fewer blocks a sparse filter's
// page loads. Rows written before carried a msgpack body, ignored now.

// indexHooks lets tests stop the index write after a registry write, as a
// crash between the two would: skipWrites queues nothing, dropQueued
// makes the writer drop what was queued, unwritten; afterTop runs in a
// list between reading the index's end and reading the rows.
type indexHooks struct {
	skipWrites bool
	dropQueued bool
	afterTop   func() // a list's first page, once it has the index's end
}

func (b *Backend) indexConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              b.n.indexStream(),
		Description:       "jetflow list index: one row per instance, by status and workflow",
		Subjects:          []string{b.n.indexAll()},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
		Storage:           b.opts.storage,
		Replicas:          b.opts.replicas,
		AllowDirect:       true,
	}
}

func (b *Backend) countsConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:            b.n.countsStream(),
		Description:     "jetflow list counters: instances per status and workflow",
		Subjects:        []string{b.n.countsAll()},
		Retention:       jetstream.LimitsPolicy,
		Storage:         b.opts.storage,
		Replicas:        b.opts.replicas,
		AllowDirect:     true,
		AllowMsgCounter: true,
		// A counter's last message holds its total (the server adds an
		// increment to it), so older ones are dead weight: without this
		// the stream kept every increment ever made.
		MaxMsgsPerSubject: 1,
	}
}

// WithListIndex(false) leaves the list index out of this backend: New
// provisions no index streams, Open binds none, writes skip it and lists
// read the whole registry, as before the index. It exists to measure
// what the index costs the workflow path (wfctl bench --index=false);
// every process of a namespace should agree on it, since one that skips
// the index leaves the rows of what it changes stale (lists repair them).
func WithListIndex(on bool) Option {
	return func(o *options) error {
		o.noIndex = !on
		return nil
	}
}

// openIndex binds the index stream of a namespace opened without
// provisioning. A namespace provisioned before the index existed has none:
// lists then read the registry, as they did before.
func (b *Backend) openIndex(ctx context.Context) {
	if b.opts.noIndex {
		return
	}
	s, err := b.js.Stream(ctx, b.n.indexStream())
	if err != nil {
		b.log.Info("namespace has no list index; lists read the whole registry", logkey.Err, err)
		return
	}
	b.index = s
	if b.counts, err = b.js.Stream(ctx, b.n.countsStream()); err != nil {
		b.index = nil // both or neither
		b.log.Info("namespace has no list counters; lists read the whole registry", logkey.Err, err)
	}
}

// indexSubject is the subject of r's index row.
func (b *Backend) indexSubject(r *InstanceRecord) string {
	inst := encodeToken(r.InstanceID)
	return b.n.indexRow(string(r.Status), encodeToken(r.WorkflowName), inst)
}

// writeIndex writes r's row, after its registry write, and moves the
// counters, through the index writer, and waits for it. old is the row's
// subject before: "" when it had none (a new instance), unknownRow when
// not known (then it is read). When the subject changed, the old row is
// purged after the new one is written.
func (b *Backend) writeIndex(ctx context.Context, r *InstanceRecord, old string) error {
	if b.index == nil {
		return nil
	}
	j := &indexJob{instanceID: r.InstanceID, subj: b.indexSubject(r), old: old}
	return b.indexWriter.enqueue(ctx, j, true)
}

// attrSubject is the subject of the index row of one search attribute.
func (b *Backend) attrSubject(instanceID, key, value string) string {
	return b.n.indexAttr(key, encodeToken(value), encodeToken(instanceID))
}

// attrSubjects are the subjects of r's search attribute rows.
func (b *Backend) attrSubjects(r *InstanceRecord, attrs map[string]string) []string {
	out := make([]string, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, b.attrSubject(r.InstanceID, k, attrs[k]))
	}
	return out
}

// writeAttrRows brings r's search attribute rows in line with
// r.SearchAttributes, after its registry write, and waits for it.
func (b *Backend) writeAttrRows(ctx context.Context, r *InstanceRecord) error {
	if b.index == nil {
		return nil
	}
	j := &indexJob{instanceID: r.InstanceID}
	b.planAttrRows(j, r)
	return b.indexWriter.enqueue(ctx, j, true)
}

// planAttrRows adds to j the search attribute rows of the pairs of r not
// indexed yet, and the purges of the rows of the pairs gone. When the rows
// the record had are not known (attrsIndexed false), every row is written
// and none purged: a list drops and purges a stale row it reads.
func (b *Backend) planAttrRows(j *indexJob, r *InstanceRecord) {
	var old map[string]string
	if r.attrsIndexed {
		old = r.indexedAttrs
	}
	for _, k := range slices.Sorted(maps.Keys(r.SearchAttributes)) {
		v := r.SearchAttributes[k]
		if ov, ok := old[k]; ok && ov == v {
			continue
		}
		j.attrRows = append(j.attrRows, b.attrSubject(r.InstanceID, k, v))
	}
	for k, v := range old {
		if nv, ok := r.SearchAttributes[k]; ok && nv == v {
			continue
		}
		j.attrPurges = append(j.attrPurges, b.attrSubject(r.InstanceID, k, v))
	}
}

// purgeSubject removes every index message on subject (of instanceID).
func (b *Backend) purgeSubject(ctx context.Context, instanceID, subject string) error {
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	if err := b.index.Purge(rctx, jetstream.WithPurgeSubject(subject)); err != nil {
		return fmt.Errorf("streams: purge index rows of %q: %w", instanceID, err)
	}
	return nil
}

// unknownRow stands for a row subject not known.
const unknownRow = "?"

// rowSubject is the subject of an instance's newest index row; "" if none.
func (b *Backend) rowSubject(ctx context.Context, instanceID string) (string, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": b.n.indexRow("*", "*", encodeToken(instanceID))})
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	msg, err := b.nc.RequestWithContext(rctx, "$JS.API.DIRECT.GET."+b.n.indexStream(), req)
	if err != nil {
		return "", fmt.Errorf("streams: index row of %q: %w", instanceID, err)
	}
	if st := msg.Header.Get("Status"); st != "" {
		if st == "404" {
			return "", nil
		}
		return "", fmt.Errorf("streams: index row of %q: status %s %s", instanceID, st, msg.Header.Get("Description"))
	}
	return msg.Header.Get("Nats-Subject"), nil
}

// counterOf is the counter subject of an index row subject.
func (b *Backend) counterOf(row string) string {
	parts := strings.Split(row, ".")
	if len(parts) != 5 {
		return ""
	}
	return b.n.counter(parts[2], parts[3])
}

func counterIncr(subject string, by int64) *nats.Msg {
	m := &nats.Msg{Subject: subject, Header: nats.Header{}}
	m.Header.Set("Nats-Incr", strconv.FormatInt(by, 10))
	return m
}

// addCounters publishes counter increments at once.
func (b *Backend) addCounters(ctx context.Context, incr []*nats.Msg) error {
	errs := make([]error, len(incr))
	var wg sync.WaitGroup
	for i, m := range incr[min(1, len(incr)):] {
		wg.Go(func() { _, errs[i+1] = b.publish(ctx, m) })
	}
	if len(incr) > 0 {
		_, errs[0] = b.publish(ctx, incr[0]) // the first on this goroutine
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("streams: list counters: %w", err)
	}
	return nil
}

// removeFromIndex removes an instance's index rows and counts it out,
// and waits for it: the remove path calls it (unindex) after deleting the
// registry entry, and lists for a row whose entry is gone.
func (b *Backend) removeFromIndex(ctx context.Context, instanceID string) error {
	if b.index == nil {
		return nil
	}
	return b.indexWriter.enqueue(ctx, b.removeJob(instanceID, nil), true)
}

// removeJob is the index change that removes an instance: of rec, whose
// row and attributes are known, or (nil) of an instance whose rows are
// looked up and purged by wildcard.
func (b *Backend) removeJob(instanceID string, rec *InstanceRecord) *indexJob {
	j := &indexJob{instanceID: instanceID, remove: true, old: unknownRow, allAttrs: true}
	if rec != nil && rec.indexedAs != "" && rec.indexedAs != unknownRow && rec.attrsIndexed {
		j.old, j.allAttrs = rec.indexedAs, false
		for k, v := range rec.indexedAttrs {
			j.attrPurges = append(j.attrPurges, b.attrSubject(instanceID, k, v))
		}
	}
	return j
}

// listCursorPrefix marks an index cursor: the sequence to continue below.
const listCursorPrefix = "x"

// indexed is one index row read back.
type indexed struct {
	seq        uint64
	instanceID string
	subj       string
}

// readIndexPage reads, newest first, up to limit rows matching filter with
// a sequence below below (0: from the top). It returns the rows and the
// sequence to continue below (0 when nothing is left). A read looks at a
// range of sequences sized to hold about the rows wanted, judged by what
// the previous range held, so it reads in proportion to the page.
func (b *Backend) readIndexPage(ctx context.Context, filter string, limit int, below uint64) ([]indexed, uint64, error) {
	if below != 0 {
		return b.readIndexBelow(ctx, filter, limit, below-1)
	}
	top, err := b.indexLastSeq(ctx)
	if err != nil {
		return nil, 0, err
	}
	if b.indexHooks.afterTop != nil {
		b.indexHooks.afterTop()
	}
	out, next, err := b.readIndexBelow(ctx, filter, limit, top)
	if err != nil {
		return nil, 0, err
	}
	// A row that moved while the page was read (a status change: the new
	// row written above top, the old one purged before the walk reached
	// it) would be missing: read what came above top, newest first, and
	// keep each instance's newest row.
	now, err := b.indexLastSeq(ctx)
	if err != nil || now <= top {
		return out, next, err
	}
	newer, err := b.readIndexRange(ctx, filter, top+1, now, indexRangeWalkers)
	if err != nil {
		return nil, 0, err
	}
	slices.Reverse(newer)
	seen := map[string]bool{}
	merged := make([]indexed, 0, len(newer)+len(out))
	for _, x := range slices.Concat(newer, out) {
		if !seen[x.instanceID] {
			seen[x.instanceID] = true
			merged = append(merged, x)
		}
	}
	if len(merged) > limit {
		merged = merged[:limit]
		next = merged[limit-1].seq
	}
	return merged, next, nil
}

// indexLastSeq is the index stream's last sequence.
func (b *Backend) indexLastSeq(ctx context.Context) (uint64, error) {
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	info, err := b.index.Info(rctx)
	if err != nil {
		return 0, fmt.Errorf("streams: list index: %w", err)
	}
	return info.State.LastSeq, nil
}

// indexWindow bounds the range of sequences one step of a page reads:
// about the rows of one message block. A read makes the server load the
// per-subject state of every block it touches (about 20 ms a block when
// cold at a million instances), so a page of a sparse filter reads down
// a block at a time and stops within a block of its last row, rather than
// on through blocks it does not need.
const indexWindow = 1 << 14

// readIndexBelow is readIndexPage from hi (inclusive) down.
func (b *Backend) readIndexBelow(ctx context.Context, filter string, limit int, hi uint64) ([]indexed, uint64, error) {
	var out []indexed // newest first
	span := uint64(2*limit + 16)
	top, found := hi, 0
	parts := uint64(indexRangeWalkers)
	for hi > 0 && len(out) < limit {
		lo := uint64(1)
		if hi > span {
			lo = hi - span + 1
		}
		got, err := b.readIndexRange(ctx, filter, lo, hi, parts)
		if err != nil {
			return nil, 0, err
		}
		found += len(got)
		i := len(got) - 1
		for ; i >= 0 && len(out) < limit; i-- {
			out = append(out, got[i])
		}
		if len(out) == limit {
			if i < 0 && lo == 1 {
				return out, 0, nil // the page ends at the bottom
			}
			return out, out[len(out)-1].seq, nil
		}
		hi = lo - 1
		// Size the next range by the density of matches seen, and walk
		// it in as many parts as it likely holds rows: a part's first
		// get finds the next match at or after its start wherever it
		// is, so parts without a row each cost the server a walk up to
		// the next row above.
		need := uint64(limit - len(out))
		if len(got) == 0 {
			span *= 4
		} else {
			span = max(span, span*need*3/2/uint64(len(got))+16)
		}
		span = min(span, indexWindow)
		parts = min(uint64(indexRangeWalkers), max(1, uint64(found)*span/(top-hi)))
	}
	return out, 0, nil
}

// indexRangeWalkers is how many parts of a range are read at once.
const indexRangeWalkers = 32

// readIndexRange reads every row matching filter with a sequence in
// [lo, hi], oldest first. The range is cut into parts walked at once, each
// by single-message direct gets of the next match from a sequence: a
// batched direct get would cost the server a count of the matches after
// its start over the stream's whole subject index (the index keeps one
// message per subject), which grows with the namespace; a single get
// costs only finding the next match.
func (b *Backend) readIndexRange(ctx context.Context, filter string, lo, hi, parts uint64) ([]indexed, error) {
	parts = min(parts, hi-lo+1)
	size := (hi - lo + 1 + parts - 1) / parts
	found := make([][]indexed, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := lo+p*size, min(hi, lo+(p+1)*size-1)
		if from > to {
			break
		}
		wg.Go(func() { found[p], errs[p] = b.walkIndex(ctx, filter, from, to) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("streams: list index: %w", err)
	}
	return slices.Concat(found...), nil
}

// walkIndex reads the rows matching filter in [from, to], oldest first,
// one direct get each.
func (b *Backend) walkIndex(ctx context.Context, filter string, from, to uint64) ([]indexed, error) {
	api := "$JS.API.DIRECT.GET." + b.n.indexStream()
	var out []indexed
	for from <= to {
		req, _ := json.Marshal(directGetRequest{Seq: from, NextFor: filter})
		rctx, cancel := b.bounded(ctx)
		msg, err := b.nc.RequestWithContext(rctx, api, req)
		cancel()
		if err != nil {
			return nil, err
		}
		if len(msg.Data) == 0 && msg.Header.Get("Status") != "" {
			if msg.Header.Get("Status") == "404" {
				return out, nil // no match at or after from
			}
			return nil, fmt.Errorf("direct get: status %s %s", msg.Header.Get("Status"), msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return nil, errors.New("direct get: answer without a sequence header")
		}
		if seq > to {
			return out, nil
		}
		from = seq + 1
		subj := msg.Header.Get("Nats-Subject")
		id, err := DecodeToken(subj[strings.LastIndexByte(subj, '.')+1:])
		if err != nil {
			b.log.Warn("skipping malformed index row", logkey.Subject, subj, logkey.Err, err)
			continue
		}
		out = append(out, indexed{seq: seq, instanceID: id, subj: subj})
	}
	return out, nil
}

// listFromIndex is ListInstances on the index.
func (b *Backend) listFromIndex(ctx context.Context, opts ListOptions, limit int) (*InstancePage, error) {
	// What this process changed is listed as changed.
	if err := b.flushIndex(ctx); err != nil {
		return nil, err
	}
	var below uint64
	if opts.After != "" {
		s, ok := strings.CutPrefix(opts.After, listCursorPrefix)
		seq, err := strconv.ParseUint(s, 10, 64)
		if !ok || err != nil || seq == 0 {
			return nil, fmt.Errorf("streams: malformed list cursor %q", opts.After)
		}
		below = seq
	}
	wf := ""
	if opts.WorkflowName != "" {
		wf = encodeToken(opts.WorkflowName)
	}
	page := &InstancePage{Counts: map[Status]int{}}
	counts, err := b.countByStatus(ctx, wf)
	if err != nil {
		return nil, err
	}
	page.Counts = counts

	filter := b.n.indexFilter(string(opts.Status), wf)
	if len(opts.SearchAttributes) > 0 {
		k := slices.Min(slices.Collect(maps.Keys(opts.SearchAttributes)))
		filter = b.n.indexAttr(k, encodeToken(opts.SearchAttributes[k]), "*")
	}
	for len(page.Instances) < limit {
		rows, next, err := b.readIndexPage(ctx, filter, limit-len(page.Instances), below)
		if err != nil {
			return nil, err
		}
		recs, err := b.checkRows(ctx, rows, opts)
		if err != nil {
			return nil, err
		}
		page.Instances = append(page.Instances, recs...)
		if next == 0 {
			return page, nil
		}
		below = next
		if len(recs) == len(rows) {
			break
		}
		// Some rows were stale and dropped: fill the page from below.
	}
	page.NextCursor = listCursorPrefix + strconv.FormatUint(below, 10)
	return page, nil
}

// countByStatus counts the instances of each status (of one workflow
// token, or all for ""): one direct get of the last value of every
// counter of the filter, a counter per status and workflow.
func (b *Backend) countByStatus(ctx context.Context, wf string) (map[Status]int, error) {
	values, err := b.readCounters(ctx, b.n.counter("*", cmpOr(wf, "*")))
	if err != nil {
		return nil, err
	}
	counts := map[Status]int{}
	for subj, n := range values {
		if parts := strings.Split(subj, "."); len(parts) == 4 && n != 0 {
			counts[Status(parts[2])] += n
		}
	}
	return counts, nil
}

// readCounters reads the counters matching filter, by subject.
func (b *Backend) readCounters(ctx context.Context, filter string) (map[string]int, error) {
	req, _ := json.Marshal(map[string]any{"multi_last": []string{filter}, "batch": 1024})
	reply, answers, done, err := b.replies.open()
	if err != nil {
		return nil, err
	}
	defer done()
	if err := b.nc.PublishRequest("$JS.API.DIRECT.GET."+b.n.countsStream(), reply, req); err != nil {
		return nil, fmt.Errorf("streams: count instances: %w", err)
	}
	bctx, cancel := b.bounded(ctx)
	defer cancel()
	values := map[string]int{}
	_, _, err = readBatch(bctx, answers, withMetadata, func(m *storedMsg) error {
		var v struct {
			Val string `json:"val"`
		}
		if err := json.Unmarshal(m.Data, &v); err != nil {
			return fmt.Errorf("counter %s: %w", m.Subject, err)
		}
		n, err := strconv.Atoi(v.Val)
		if err != nil {
			return fmt.Errorf("counter %s: %w", m.Subject, err)
		}
		values[m.Subject] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("streams: count instances: %w", err)
	}
	return values, nil
}

// checkRows reads the registry record of each row, in parallel, and keeps
// the rows their record agrees with. A row the record disagrees with (a
// crash came between the record's write and the row's) is rewritten from
// the record, and one without a record removed: the list heals the index
// as it reads it, at one registry read per row.
func (b *Backend) checkRows(ctx context.Context, rows []indexed, opts ListOptions) ([]*InstanceRecord, error) {
	recs := make([]*InstanceRecord, len(rows))
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			recs[i], errs[i] = b.checkRow(ctx, &rows[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r *InstanceRecord) bool {
		return r == nil || (opts.Status != "" && r.Status != opts.Status) ||
			(opts.WorkflowName != "" && r.WorkflowName != opts.WorkflowName) ||
			!hasAttributes(r.SearchAttributes, opts.SearchAttributes)
	}), nil
}

// indexRepairGrace is how long after a record's change a list leaves a
// row that disagrees with it to the writer whose index write is queued
// (indexwriter.go), listing the record as it is without repairing.
const indexRepairGrace = time.Minute

// checkRow returns the record of a row, repairing the row if the record
// disagrees; nil when the instance is gone.
func (b *Backend) checkRow(ctx context.Context, x *indexed) (*InstanceRecord, error) {
	r, err := b.GetInstance(ctx, x.instanceID)
	if errors.Is(err, ErrInstanceNotFound) {
		b.log.Info("removing the index row of a removed instance", logkey.Instance, x.instanceID)
		return nil, b.removeFromIndex(ctx, x.instanceID)
	}
	if errors.Is(err, history.ErrMalformed) {
		// Listed as the scan of the registry lists it: not at all.
		b.log.Warn("skipping malformed registry entry", logkey.Instance, x.instanceID, logkey.Err, err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if strings.Count(x.subj, ".") == 5 { // a search attribute row
		if !slices.Contains(b.attrSubjects(r, r.SearchAttributes), x.subj) {
			b.log.Info("removing a stale search attribute row", logkey.Instance, r.InstanceID, logkey.Subject, x.subj)
			return nil, b.purgeSubject(ctx, r.InstanceID, x.subj)
		}
		return r, nil
	}
	if b.indexSubject(r) != x.subj {
		if time.Since(r.UpdatedAt) < indexRepairGrace {
			// Its writer's queued index write is likely on its way:
			// a repair too would move the counters twice.
			return r, nil
		}
		b.log.Info("repairing a stale index row", logkey.Instance, r.InstanceID, logkey.Subject, x.subj)
		if err := b.writeIndex(ctx, r, x.subj); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// RebuildIndex rewrites the list index from the registry, the source of
// truth: it writes the row of every instance whose row is missing or
// stale and removes rows of instances that are gone. Lists repair the rows
// they read; this repairs the rows no list reaches (an instance whose row
// was never written). Its cost grows with the namespace: an operator's
// repair (wfctl index rebuild), not a routine step.
func (b *Backend) RebuildIndex(ctx context.Context) (written, removed int, err error) {
	if b.index == nil {
		return 0, 0, fmt.Errorf("streams: namespace %q has no list index (provision it with streams.New)", b.n.ns)
	}
	// What the index holds now: subject by instance.
	have := map[string]string{}
	haveAttrs := map[string]bool{} // search attribute rows, by subject
	_, err = b.readSubject(ctx, b.n.indexStream(), b.n.indexAll(), 1, withMetadata, func(m *storedMsg) error {
		parts := strings.Split(m.Subject, ".")
		if len(parts) == 6 {
			haveAttrs[m.Subject] = true
			return nil
		}
		if len(parts) != 5 {
			return nil
		}
		inst, err := DecodeToken(parts[4])
		if err != nil {
			return nil
		}
		if old, ok := have[inst]; ok && old != m.Subject {
			have[inst] = "" // more than one row: rewrite
			return nil
		}
		have[inst] = m.Subject
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("streams: rebuild index: %w", err)
	}
	var recs []*InstanceRecord
	_, err = b.readSubject(ctx, "KV_"+b.n.registryBucket(), "$KV."+b.n.registryBucket()+".>", 1, withMetadata, func(m *storedMsg) error {
		if len(m.Data) == 0 || m.Header.Get("KV-Operation") != "" {
			return nil
		}
		r, err := decodeRecord(m.Data, m.Seq)
		if err != nil || r.validate() != nil {
			return nil
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("streams: rebuild index: %w", err)
	}
	// Oldest first, so the rebuilt order follows creation.
	slices.SortFunc(recs, func(a, b *InstanceRecord) int { return newestFirst(b, a) })
	for _, r := range recs {
		subj, ok := have[r.InstanceID]
		delete(have, r.InstanceID)
		if ok && subj == b.indexSubject(r) {
			continue
		}
		old := subj
		if ok && subj == "" {
			old = unknownRow
		}
		// The counters are set right below, whatever this moves.
		if err := b.writeIndex(ctx, r, old); err != nil {
			return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
		}
		written++
	}
	// Search attribute rows: the missing written, the stale purged.
	for _, r := range recs {
		var missing []string
		for _, subj := range b.attrSubjects(r, r.SearchAttributes) {
			if !haveAttrs[subj] {
				missing = append(missing, subj)
			}
			delete(haveAttrs, subj)
		}
		if len(missing) == 0 {
			continue
		}
		r.attrsIndexed = true // only the missing rows
		r.indexedAttrs = maps.Clone(r.SearchAttributes)
		for _, subj := range missing {
			for k, v := range r.SearchAttributes {
				if b.attrSubject(r.InstanceID, k, v) == subj {
					delete(r.indexedAttrs, k)
				}
			}
		}
		if err := b.writeAttrRows(ctx, r); err != nil {
			return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
		}
		written += len(missing)
	}
	for subj := range haveAttrs {
		if err := b.purgeSubject(ctx, subj, subj); err != nil {
			return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
		}
		removed++
	}
	for inst := range have {
		if err := b.removeFromIndex(ctx, inst); err != nil {
			return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
		}
		removed++
	}
	// The counters: each moved by what it is off from the registry.
	want := map[string]int{}
	for _, r := range recs {
		want[b.counterOf(b.indexSubject(r))]++
	}
	have2, err := b.readCounters(ctx, b.n.counter("*", "*"))
	if err != nil {
		return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
	}
	var incr []*nats.Msg
	for subj, n := range have2 {
		if d := want[subj] - n; d != 0 {
			incr = append(incr, counterIncr(subj, int64(d)))
		}
		delete(want, subj)
	}
	for subj, n := range want {
		incr = append(incr, counterIncr(subj, int64(n)))
	}
	if err := b.addCounters(ctx, incr); err != nil {
		return written, removed, fmt.Errorf("streams: rebuild index: %w", err)
	}
	return written, removed, nil
}
