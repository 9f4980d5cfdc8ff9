package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/history"
)

// Reads that must see what was acknowledged before them.
//
// Direct gets ($JS.API.DIRECT.GET) are answered by any replica of a
// stream, the one on the reader's own server first, and a follower applies
// a write a moment after the leader acknowledged it. A direct get can
// therefore miss a write acknowledged just before it: an instance created
// a moment ago is "not found", a record just updated comes back at its
// old revision. Reads whose answer decides something that a stale answer
// would get wrong ask the stream's leader instead ($JS.API.STREAM.MSG.GET,
// which only the leader answers). They do so only when the fast answer
// may be stale: when it found nothing, or found a revision older than one
// this backend wrote or saw refused (ownRevisions). See "Reads and
// replicas" in docs/architecture.md.

// errCodeNoMessageFound is JetStream's error code for a message get that
// found nothing.
const errCodeNoMessageFound = 10037

// errNoMessage is what leaderGetLast returns when the subject has no
// message.
var errNoMessage = errors.New("no message")

type leaderGetRequest struct {
	LastFor string `json:"last_by_subj"`
}

type leaderGetResponse struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error,omitempty"`
	Message *struct {
		Subject string    `json:"subject"`
		Seq     uint64    `json:"seq"`
		Header  []byte    `json:"hdrs,omitempty"`
		Data    []byte    `json:"data,omitempty"`
		Time    time.Time `json:"time"`
	} `json:"message,omitempty"`
}

// leaderGetLast reads the last message on subject from the leader of
// stream: it reflects every write acknowledged before the call. The error
// is errNoMessage when there is none.
func (b *Backend) leaderGetLast(ctx context.Context, stream, subject string) (*storedMsg, error) {
	req, _ := json.Marshal(leaderGetRequest{LastFor: subject})
	rctx, cancel := b.bounded(ctx)
	defer cancel()
	msg, err := b.nc.RequestWithContext(rctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, fmt.Errorf("read %s from the stream leader: %w", subject, err)
	}
	var resp leaderGetResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("read %s from the stream leader: %w", subject, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeNoMessageFound:
		return nil, errNoMessage
	case resp.Error != nil:
		return nil, fmt.Errorf("read %s from the stream leader: %s (%d)", subject, resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, fmt.Errorf("read %s from the stream leader: an answer without a message", subject)
	}
	m := &storedMsg{Subject: resp.Message.Subject, Seq: resp.Message.Seq, Time: resp.Message.Time, Data: resp.Message.Data}
	if len(resp.Message.Header) > 0 {
		if m.Header, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return nil, fmt.Errorf("read %s from the stream leader: headers: %w", subject, err)
		}
	}
	return m, nil
}

// ownRevisionsKept bounds how many keys ownRevisions remembers, and
// ownRevisionsFor how long: a follower lags its leader by milliseconds
// unless it is cut off, and then it stops answering direct gets.
const (
	ownRevisionsKept = 4096
	ownRevisionsFor  = 10 * time.Second
)

// ownRevisions remembers, for the registry keys this backend wrote
// recently, the least revision a read must show: the revision it wrote,
// or one past a revision a conditional write found outdated. A direct get
// answering with less is stale and is asked again of the leader.
type ownRevisions struct {
	mu   sync.Mutex
	revs map[string]ownRevision
}

type ownRevision struct {
	rev uint64
	at  time.Time
}

// note records that key is at revision rev at least.
func (o *ownRevisions) note(key string, rev uint64) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.revs == nil {
		o.revs = map[string]ownRevision{}
	}
	if old, ok := o.revs[key]; ok && old.rev > rev && old.rev != ownDeleted {
		rev = old.rev
	}
	if len(o.revs) >= ownRevisionsKept {
		o.prune(now)
	}
	o.revs[key] = ownRevision{rev: rev, at: now}
}

// prune forgets marks older than ownRevisionsFor, and if that is not
// enough, any (map order is random).
func (o *ownRevisions) prune(now time.Time) {
	for k, r := range o.revs {
		if now.Sub(r.at) > ownRevisionsFor {
			delete(o.revs, k)
		}
	}
	for k := range o.revs {
		if len(o.revs) < ownRevisionsKept*3/4 {
			break
		}
		delete(o.revs, k)
	}
}

// ownDeleted marks a key this backend deleted: its revision is not known
// (a purge does not say it), so any read of it asks the leader.
const ownDeleted = math.MaxUint64

// noteDeleted records that key was deleted; a later write of it replaces
// the mark.
func (o *ownRevisions) noteDeleted(key string) {
	o.note(key, ownDeleted)
}

// least is the least revision a read of key must show (0: any).
func (o *ownRevisions) least(key string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.revs[key]
	if !ok || time.Since(r.at) > ownRevisionsFor {
		return 0
	}
	return r.rev
}

// LastCommitLatest reads a run's last commit from the leader of the
// history stream: it reflects every commit acknowledged before the call,
// where ReadHistory, answered by any replica, may end a moment earlier.
// A run's final event is in its last commit. It is nil when the run has
// no commits.
func (b *Backend) LastCommitLatest(ctx context.Context, instanceID, executionID string) (*history.Commit, error) {
	subject, err := b.historySubject(instanceID, executionID)
	if err != nil {
		return nil, err
	}
	m, err := b.leaderGetLast(ctx, b.n.historyStream(), subject)
	if errors.Is(err, errNoMessage) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("streams: last commit of run %q of %q: %w", executionID, instanceID, err)
	}
	c, err := history.DecodeCommit(m.Data)
	if err != nil {
		return nil, fmt.Errorf("streams: last commit of run %q of %q: %w", executionID, instanceID, err)
	}
	return c, nil
}

// kvLatest reads key of KV bucket from the leader of its stream: its value
// and revision, or found false when it has none (never written, deleted or
// purged).
func (b *Backend) kvLatest(ctx context.Context, bucket, key string) (data []byte, rev uint64, found bool, err error) {
	m, err := b.leaderGetLast(ctx, "KV_"+bucket, "$KV."+bucket+"."+key)
	switch {
	case errors.Is(err, errNoMessage):
		return nil, 0, false, nil
	case err != nil:
		return nil, 0, false, err
	case len(m.Data) == 0 || m.Header.Get("KV-Operation") != "":
		return nil, 0, false, nil // a delete or purge marker
	}
	return m.Data, m.Seq, true, nil
}
