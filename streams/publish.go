package streams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publish publishes to a stream and waits for its acknowledgement, bounded
// by the request timeout. It does what the JetStream client's PublishMsg
// does — including retrying while no stream answers (a leader election) —
// but reads the acknowledgement without a JSON decoder when it is a plain
// success: decoding it with encoding/json cost 6% of a worker's CPU.
//
// Unlike the client (two retries 250 ms apart, then ErrNoStreamResponse),
// it retries every noStreamRetryWait until the request timeout: an
// election after a lost leader takes seconds, and giving up half a second
// into it handed the commit to the task retry's growing backoff, which
// resumed commits up to a backoff step after the new leader was there.
// Retrying here rides out the election and stores the message within
// noStreamRetryWait of the new leader answering.
//
// A message with a message ID is also sent again when an attempt goes
// unanswered for publishAttemptTimeout (doubled after each such attempt):
// the stream keeps one copy within its duplicate window. A publish in
// flight to a leader that dies is never answered, and waiting the whole
// request timeout for it kept its caller waiting seconds after the new
// leader was there.
func (b *Backend) publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	return b.publishResending(ctx, msg, msg.Header.Get(jetstream.MsgIDHeader) != "")
}

// publishResending is publish, sending msg again after an unanswered
// attempt when resend is set: for a message with a message ID, or with an
// expected last subject sequence whose caller recognises its own message
// behind a refusal (Commit looks for its commit ID). When an unanswered
// attempt may have been stored, a later attempt's "wrong last sequence"
// may be that very attempt's doing: it is then reported as an unknown
// outcome (wrapping errRetryRefused and context.DeadlineExceeded, as the
// timeout it stands for), never as a conflict.
func (b *Backend) publishResending(ctx context.Context, msg *nats.Msg, resend bool) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(b.opts.requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	attempt := b.opts.requestTimeout // one attempt for the whole budget
	if resend {
		attempt = publishAttemptTimeout
	}
	unanswered := 0
	for {
		actx, cancel := context.WithDeadline(ctx, earliest(deadline, time.Now().Add(attempt)))
		resp, err := b.nc.RequestMsgWithContext(actx, msg)
		cancel()
		switch {
		case err == nil:
			ack, err := parsePubAck(resp.Data)
			if err != nil && unanswered > 0 && isWrongLastSequence(err) {
				return nil, fmt.Errorf("streams: publish to %s: %d attempt(s) unanswered, the next refused (%v), which an unanswered one may have caused: %w%w",
					msg.Subject, unanswered, err, errRetryRefused, context.DeadlineExceeded)
			}
			return ack, err
		case ctx.Err() != nil || !time.Now().Before(deadline):
			if errors.Is(err, nats.ErrNoResponders) {
				return nil, fmt.Errorf("%w (%w)", jetstream.ErrNoStreamResponse, ended(ctx))
			}
			return nil, err
		case errors.Is(err, nats.ErrNoResponders):
			if !sleepCtx(ctx, time.Until(earliest(deadline, time.Now().Add(noStreamRetryWait)))) || !time.Now().Before(deadline) {
				return nil, fmt.Errorf("%w (%w)", jetstream.ErrNoStreamResponse, ended(ctx))
			}
		case errors.Is(err, context.DeadlineExceeded):
			unanswered++ // this attempt's own timeout: send it again
			attempt *= 2
		default:
			return nil, err
		}
	}
}

// errRetryRefused marks publish's unknown outcome when an attempt sent
// again after unanswered ones failed its expected last subject sequence:
// something is stored there, perhaps an unanswered attempt.
var errRetryRefused = errors.New("")

// publishAttemptTimeout is how long publish waits for the answer to the
// first attempt of a message it may send again before it does; each
// further unanswered attempt doubles it. A healthy publish is answered in
// milliseconds, but in hundreds of them on a machine under heavy load,
// where a shorter wait resent many (measured: 250 ms resent registry
// writes during a benchmark on the shared machine); an election after a
// SIGKILLed leader takes 4 s or more, so a resend after 1 s still reaches
// the new leader as soon as no-responders retries would.
const publishAttemptTimeout = time.Second

// noStreamRetryWait is the wait before publish retries a message no stream
// answered: short, as each retry is one request answered at once by the
// server while the stream has no leader.
const noStreamRetryWait = 25 * time.Millisecond

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ended is why a request whose budget is spent ended: the caller's
// context's error, or the request timeout.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// pubAckAnswer is the JSON the server answers a publish with.
type pubAckAnswer struct {
	Error *jetstream.APIError `json:"error,omitempty"`
	jetstream.PubAck
}

// parsePubAck reads a publish acknowledgement. The server writes a plain
// success as {"stream":"S","seq":N}, a duplicate with ,"duplicate": true
// before the brace; those two are read by hand, anything else (a domain,
// batch fields, an error) goes to encoding/json.
func parsePubAck(data []byte) (*jetstream.PubAck, error) {
	if ack, ok := quickPubAck(data); ok {
		return ack, nil
	}
	var a pubAckAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if a.Error != nil {
		return nil, fmt.Errorf("nats: %w", a.Error)
	}
	if a.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return &a.PubAck, nil
}

var (
	ackStreamPrefix = []byte(`{"stream":"`)
	ackSeqField     = []byte(`","seq":`)
)

// quickPubAck reads {"stream":"S","seq":N[,"duplicate":true]} and reports
// false for anything else.
func quickPubAck(data []byte) (*jetstream.PubAck, bool) {
	rest, ok := bytes.CutPrefix(data, ackStreamPrefix)
	if !ok {
		return nil, false
	}
	stream, rest, ok := bytes.Cut(rest, ackSeqField)
	if !ok || len(stream) == 0 || bytes.ContainsAny(stream, `"\`) {
		return nil, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	seq, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	if err != nil {
		return nil, false
	}
	ack := &jetstream.PubAck{Stream: string(stream), Sequence: seq}
	switch tail := string(rest[end:]); tail {
	case "}":
	case `,"duplicate": true}`, `,"duplicate":true}`:
		ack.Duplicate = true
	default:
		return nil, false
	}
	return ack, true
}
