package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers jetflow sets on its own messages.
const (
	hdrDeadSubject    = "Jetflow-Dead-Subject"
	hdrDeadReason     = "Jetflow-Dead-Reason"
	hdrDeadError      = "Jetflow-Dead-Error"
	hdrDeadDeliveries = "Jetflow-Dead-Deliveries"
	// hdrDeadOriginalSize is set when the body kept is a prefix of the
	// original, too large to keep whole.
	hdrDeadOriginalSize = "Jetflow-Dead-Original-Size"
)

// directBatchSize is how many messages one direct-get request asks for. A
// short history comes back in one round trip; a long one in a few.
const directBatchSize = 1000

// directBatchBytes caps the bytes of one direct-get batch (the server's
// own cap is its max_pending, 64 MiB by default). Asking for a known cap
// lets a reader tell a batch cut short by bytes from one that ran out of
// messages.
const directBatchBytes = 8 << 20

// directMsgOverhead bounds what the server counts per message on top of
// its body against the byte cap when a read asks for bodies only (history
// commits): the subject and the stored headers. A read with metadata
// counts the headers it receives instead.
const directMsgOverhead = 4 << 10

// storedMsg is one message read back from a stream. Only Data is set when
// reading bodies only.
type storedMsg struct {
	Subject string
	Seq     uint64
	Time    time.Time
	Header  nats.Header
	Data    []byte
}

type directGetRequest struct {
	Seq       uint64 `json:"seq,omitempty"`
	NextFor   string `json:"next_by_subj,omitempty"`
	Batch     int    `json:"batch,omitempty"`
	MaxBytes  int    `json:"max_bytes,omitempty"`
	NoHeaders bool   `json:"no_hdr,omitempty"`
}

// readMode says whether a read needs each message's metadata (subject,
// sequence, time, headers) or only its body. Bodies alone are much cheaper
// for the server to send, and the end-of-batch marker still says the last
// sequence read.
type readMode bool

const (
	bodiesOnly   readMode = false
	withMetadata readMode = true
)

// readSubject reads every message of a stream whose subject matches filter
// (wildcards allowed) with a sequence of at least from, in order, using
// batched direct gets: no consumer is created, and any replica may answer.
// The stream must have AllowDirect.
//
// It returns the sequence of the last message read (0 if none).
func (b *Backend) readSubject(ctx context.Context, stream, filter string, from uint64, mode readMode, each func(m *storedMsg) error) (uint64, error) {
	if from == 0 {
		from = 1
	}
	reply, answers, done, err := b.replies.open()
	if err != nil {
		return 0, fmt.Errorf("streams: read %s: %w", filter, err)
	}
	defer done()
	api := "$JS.API.DIRECT.GET." + stream

	var lastRead uint64
	for {
		req, _ := json.Marshal(directGetRequest{Seq: startSeq(from), NextFor: filter, Batch: directBatchSize,
			MaxBytes: directBatchBytes, NoHeaders: mode == bodiesOnly})
		if err := b.nc.PublishRequest(api, reply, req); err != nil {
			return 0, fmt.Errorf("streams: read %s: %w", filter, err)
		}
		// Each batch within the request timeout: a read of a long
		// history or a big registry may take longer as a whole.
		bctx, cancel := b.bounded(ctx)
		var count, bytes int
		pending, last, err := readBatch(bctx, answers, mode, func(m *storedMsg) error {
			count++
			bytes += len(m.Data) + directMsgOverhead + headerBytes(m.Header)
			return each(m)
		})
		cancel()
		if err != nil {
			return 0, fmt.Errorf("streams: read %s: %w", filter, err)
		}
		if last == 0 {
			return lastRead, nil
		}
		lastRead = last
		// A batch short of both caps held every message there was. Its
		// pending count cannot say so: without headers the server never
		// counts it down, and asking again costs the server a walk through
		// its message blocks to count from the middle of the stream.
		if pending == 0 || (count < directBatchSize && bytes < directBatchBytes) {
			return lastRead, nil
		}
		from = last + 1
	}
}

// headerBytes is about how many bytes h takes on the wire.
func headerBytes(h nats.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// startSeq is the sequence a direct-get batch starts at. A read from the
// beginning asks from 0: the server then counts what is pending from its
// subject index instead of walking message blocks from a sequence.
func startSeq(from uint64) uint64 {
	if from <= 1 {
		return 0
	}
	return from
}

// replyMux routes the answers of many multi-message requests through one
// wildcard subscription, instead of subscribing per request: a subscription
// costs two protocol messages and a 64K-slot channel.
type replyMux struct {
	nc *nats.Conn

	once   sync.Once
	err    error
	prefix string

	mu      sync.Mutex
	next    uint64
	waiters map[string]chan *nats.Msg
}

// open returns a fresh reply subject, the channel its answers arrive on, and
// a function to call when done with them.
func (m *replyMux) open() (string, <-chan *nats.Msg, func(), error) {
	m.once.Do(func() {
		m.prefix = m.nc.NewInbox() + "."
		m.waiters = map[string]chan *nats.Msg{}
		_, m.err = m.nc.Subscribe(m.prefix+"*", m.dispatch)
	})
	if m.err != nil {
		return "", nil, nil, m.err
	}
	// Room for a whole batch and its end marker, so dispatch never blocks
	// one reader behind another.
	ch := make(chan *nats.Msg, directBatchSize+2)
	m.mu.Lock()
	m.next++
	token := strconv.FormatUint(m.next, 36)
	m.waiters[token] = ch
	m.mu.Unlock()
	return m.prefix + token, ch, func() {
		m.mu.Lock()
		delete(m.waiters, token)
		m.mu.Unlock()
	}, nil
}

func (m *replyMux) dispatch(msg *nats.Msg) {
	token := msg.Subject[len(m.prefix):]
	m.mu.Lock()
	ch := m.waiters[token]
	m.mu.Unlock()
	if ch == nil {
		return // a reader that gave up
	}
	select {
	case ch <- msg:
	default:
		// More than a batch for one request: the server does not do that;
		// drop rather than block every other reader.
	}
}

// readBatch consumes one direct-get batch answer: messages, then an
// end-of-batch status saying how many messages are still pending.
func readBatch(ctx context.Context, answers <-chan *nats.Msg, mode readMode, each func(m *storedMsg) error) (pending, last uint64, err error) {
	for {
		var msg *nats.Msg
		select {
		case msg = <-answers:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
		if len(msg.Data) == 0 && msg.Header != nil {
			switch msg.Header.Get("Status") {
			case "404": // nothing at or after the sequence
				return 0, 0, nil
			case "204": // end of batch
				pending, _ = strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
				last, _ = strconv.ParseUint(msg.Header.Get("Nats-Last-Sequence"), 10, 64)
				return pending, last, nil
			case "":
			default:
				return 0, 0, fmt.Errorf("direct get: status %s %s", msg.Header.Get("Status"), msg.Header.Get("Description"))
			}
		}
		m := &storedMsg{Data: msg.Data}
		if mode == withMetadata {
			m.Seq, err = strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
			if err != nil {
				return 0, 0, errors.New("direct get: answer without a sequence header")
			}
			m.Time, _ = time.Parse(time.RFC3339Nano, msg.Header.Get("Nats-Time-Stamp"))
			m.Subject = msg.Header.Get("Nats-Subject")
			m.Header = msg.Header
		}
		if err := each(m); err != nil {
			return 0, 0, err
		}
	}
}
