package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetflow/jetflow/internal/logkey"
)

// The index writer takes list-index writes off the workflow path. A
// registry write queues its instance's index change; a writer goroutine
// takes what has queued up and writes it as one batch: every row
// (pipelined, in the order queued), then every purge at once, then the
// counters,
// each counter subject once with the sum of the batch's moves (a batch
// that starts one instance and finishes another moves "running" by zero
// and writes nothing for it). Under load a batch holds many changes, so
// the counters cost a few writes per batch rather than three per
// workflow.
//
// A status change does not wait for its index write: the registry holds
// it, and a crash that loses the queued write leaves a stale row that
// lists repair when they read it (checkRows), the running tab first of
// all. A new instance's first row is waited for (CreateInstance returns
// after it), as a lost first row would hide the instance until a rebuild.

// indexShards is how many writer goroutines a backend runs at most: one,
// so the index keeps the order in which this backend changed instances
// (a list's newest first); a batch's rows go out pipelined.
const indexShards = 1

// indexShardQueue bounds the changes queued on one shard: beyond it a
// registry write waits, so a server that cannot keep up slows the
// workflows instead of growing memory.
const indexShardQueue = 4096

// indexBatchMax bounds the changes one batch writes.
const indexBatchMax = 256

// indexJob is one instance's index change, planned when its registry
// write succeeded.
type indexJob struct {
	instanceID string

	// subj is the row to write ("" for none); old the row it replaces
	// ("" none, unknownRow: read it first).
	subj, old string
	// attrRows are search attribute rows to write; attrPurges those to
	// purge (exact subjects).
	attrRows, attrPurges []string
	// remove removes every row of the instance (old: its main row, or
	// unknownRow); allAttrs purges its attribute rows by wildcard.
	remove, allAttrs bool
	// oldPurged: the write purged old (its counter moves).
	oldPurged bool
	// lookedUp: old was read, and more rows may linger (a crash between
	// a row and its old row's purge): purge them all by wildcard.
	lookedUp bool

	done chan error // nil: nobody waits
	err  error
}

// indexWriter is a backend's queue of index changes.
type indexWriter struct {
	b      *Backend
	shards [indexShards]indexShard
}

type indexShard struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []*indexJob
	queued   uint64 // changes ever queued
	written  uint64 // changes ever written (or failed)
	running  bool   // a goroutine drains the queue
	inflight map[string]bool
}

func (w *indexWriter) init(b *Backend) {
	w.b = b
	for i := range w.shards {
		w.shards[i].cond = sync.NewCond(&w.shards[i].mu)
	}
}

func (w *indexWriter) shard(instanceID string) *indexShard {
	h := fnv.New32a()
	_, _ = h.Write([]byte(instanceID))
	return &w.shards[h.Sum32()%indexShards]
}

// enqueue queues j; when wait, it returns j's outcome.
func (w *indexWriter) enqueue(ctx context.Context, j *indexJob, wait bool) error {
	if w.b.indexHooks.skipWrites {
		return nil
	}
	if wait {
		j.done = make(chan error, 1)
	}
	s := w.shard(j.instanceID)
	s.mu.Lock()
	for len(s.queue) >= indexShardQueue {
		s.cond.Wait()
	}
	s.queue = append(s.queue, j)
	s.queued++
	if !s.running {
		s.running = true
		go w.drain(s)
	}
	s.mu.Unlock()
	if !wait {
		return nil
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("streams: index write of %q: %w", j.instanceID, ctx.Err())
	}
}

// flush waits until every change queued before it was called is written.
func (w *indexWriter) flush(ctx context.Context) error {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		target := s.queued
		s.mu.Unlock()
		for {
			s.mu.Lock()
			done := s.written >= target
			s.mu.Unlock()
			if done {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("streams: waiting for index writes: %w", ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
	}
	return nil
}

// drain writes the shard's queue, batch by batch, until it is empty.
func (w *indexWriter) drain(s *indexShard) {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		// A batch holds each instance once: two changes of one
		// instance written at once could land out of order.
		seen := map[string]bool{}
		n := 0
		for n < len(s.queue) && n < indexBatchMax && !seen[s.queue[n].instanceID] {
			seen[s.queue[n].instanceID] = true
			n++
		}
		batch := append([]*indexJob(nil), s.queue[:n]...)
		s.queue = append(s.queue[:0], s.queue[n:]...)
		s.cond.Broadcast()
		s.mu.Unlock()

		if w.b.indexHooks.dropQueued {
			for _, j := range batch {
				j.err = errors.New("dropped (a test's crash)")
			}
		} else {
			w.write(batch)
		}

		s.mu.Lock()
		s.written += uint64(len(batch))
		s.mu.Unlock()
		for _, j := range batch {
			if j.done != nil {
				j.done <- j.err
			} else if j.err != nil {
				w.b.log.Warn("index write failed; lists repair the row", logkey.Instance, j.instanceID, logkey.Err, j.err)
			}
		}
	}
}

// write writes a batch: lookups, rows, purges, then the summed counters.
func (w *indexWriter) write(batch []*indexJob) {
	b := w.b
	ctx, cancel := context.WithTimeout(context.Background(), 2*b.opts.requestTimeout)
	defer cancel()
	type step struct {
		j *indexJob
		f func() error
	}
	run := func(steps []step) {
		errs := make([]error, len(steps))
		var wg sync.WaitGroup
		for i, st := range steps {
			wg.Go(func() { errs[i] = st.f() })
		}
		wg.Wait()
		for i, st := range steps {
			if errs[i] != nil && st.j.err == nil {
				st.j.err = errs[i]
			}
		}
	}
	alive := func(j *indexJob) bool { return j.err == nil }

	// The rows whose old subject is not known.
	var steps []step
	for _, j := range batch {
		if j.old == unknownRow {
			steps = append(steps, step{j, func() (err error) {
				j.old, err = b.rowSubject(ctx, j.instanceID)
				j.lookedUp = true
				return err
			}})
		}
	}
	run(steps)

	// The new rows, before any purge (a crash leaves two rows, not
	// none), published in the batch's order without waiting between
	// them: one connection's messages are stored in the order sent, so
	// the index keeps the order of the changes.
	type sent struct {
		j   *indexJob
		f   jetstream.PubAckFuture
		err error
	}
	var pubs []sent
	for _, j := range batch {
		if !alive(j) {
			continue
		}
		var subjects []string
		if j.subj != "" && j.subj != j.old {
			subjects = append(subjects, j.subj)
		}
		for _, subj := range append(subjects, j.attrRows...) {
			f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: subj})
			pubs = append(pubs, sent{j, f, err})
		}
	}
	for _, p := range pubs {
		err := p.err
		if err == nil {
			select {
			case <-p.f.Ok():
			case err = <-p.f.Err():
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil && p.j.err == nil {
			p.j.err = fmt.Errorf("streams: index row of %q: %w", p.j.instanceID, err)
		}
	}

	// The purges of what the new rows replace. The old row's counter
	// moves only if the purge removed it: a row a crash never wrote was
	// never counted, and a row purged twice (a removal and a list's
	// repair at once) is counted out once.
	steps = steps[:0]
	for _, j := range batch {
		if !alive(j) {
			continue
		}
		purgeOld := func(filter string, keep uint64) func() error {
			return func() error {
				n, err := b.purgeCount(ctx, j.instanceID, filter, keep)
				j.oldPurged = n > 0
				return err
			}
		}
		rows := b.n.indexRow("*", "*", encodeToken(j.instanceID))
		switch {
		case j.old == "" || (!j.remove && j.old == j.subj):
		case j.lookedUp && j.remove:
			steps = append(steps, step{j, purgeOld(rows, 0)})
		case j.lookedUp:
			steps = append(steps, step{j, purgeOld(rows, 1)})
		default:
			steps = append(steps, step{j, purgeOld(j.old, 0)})
		}
		if j.allAttrs {
			steps = append(steps, step{j, func() error {
				return b.purgeSubject(ctx, j.instanceID, b.n.indexAttr("*", "*", encodeToken(j.instanceID)))
			}})
		}
		for _, subj := range j.attrPurges {
			steps = append(steps, step{j, func() error { return b.purgeSubject(ctx, j.instanceID, subj) }})
		}
	}
	run(steps)

	// The counters: each subject once, by the batch's sum of moves.
	sums := map[string]int64{}
	users := map[string][]*indexJob{}
	count := func(j *indexJob, row string, by int64) {
		if c := b.counterOf(row); c != "" {
			sums[c] += by
			users[c] = append(users[c], j)
		}
	}
	for _, j := range batch {
		if !alive(j) || j.subj == j.old {
			continue
		}
		if j.oldPurged {
			count(j, j.old, -1)
		}
		if !j.remove {
			count(j, j.subj, +1)
		}
	}
	var subjects []string
	for c, by := range sums {
		if by != 0 {
			subjects = append(subjects, c)
		}
	}
	errs := make([]error, len(subjects))
	var wg sync.WaitGroup
	for i, c := range subjects {
		wg.Go(func() {
			if _, err := b.publish(ctx, counterIncr(c, sums[c])); err != nil {
				errs[i] = fmt.Errorf("streams: list counter %s: %w", c, err)
			}
		})
	}
	wg.Wait()
	for i, c := range subjects {
		for _, j := range users[c] {
			if errs[i] != nil && j.err == nil {
				j.err = errs[i]
			}
		}
	}
}

// flushIndex waits for this backend's queued index writes, so a list
// made after a change in this process sees the change.
func (b *Backend) flushIndex(ctx context.Context) error {
	if b.index == nil {
		return nil
	}
	return b.indexWriter.flush(ctx)
}

// purgeCount purges the index messages on filter but the newest keep (of
// instanceID) and returns how many it removed.
func (b *Backend) purgeCount(ctx context.Context, instanceID, filter string, keep uint64) (uint64, error) {
	n, err := b.purgeRequest(ctx, b.n.indexStream(), filter, keep)
	if err != nil {
		return 0, fmt.Errorf("streams: purge index rows of %q: %w", instanceID, err)
	}
	return n, nil
}

// purgeRequest purges stream's messages on filter but the newest keep
// and returns how many the server removed. It asks the API directly: the
// client's Stream.Purge needs a bound stream (a stream-info request) and
// does not say how many went.
func (b *Backend) purgeRequest(ctx context.Context, stream, filter string, keep uint64) (uint64, error) {
	req, _ := json.Marshal(map[string]any{"filter": filter, "keep": keep})
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	msg, err := b.nc.RequestWithContext(rctx, "$JS.API.STREAM.PURGE."+stream, req)
	if err != nil {
		return 0, fmt.Errorf("purge %s on %s: %w", stream, filter, err)
	}
	var resp struct {
		Purged uint64 `json:"purged"`
		Error  *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return 0, fmt.Errorf("purge %s on %s: %w", stream, filter, err)
	}
	if resp.Error != nil {
		return 0, fmt.Errorf("purge %s on %s: %d %s", stream, filter, resp.Error.Code, resp.Error.Description)
	}
	return resp.Purged, nil
}
