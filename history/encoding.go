package history

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/internal/wire"
)

// Format numbers. The first byte of every encoded commit or event says which
// format the rest is in. Add a new number when the layout changes in a way an
// old decoder would misread; keep decoding every number ever written.
const (
	// FormatMsgpack1 is a msgpack map per event with the short field names
	// of the struct tags.
	FormatMsgpack1 byte = 1

	// CurrentFormat is the format Encode* functions write.
	CurrentFormat = FormatMsgpack1
)

// ErrMalformed is returned (wrapped) for bytes that are not a valid encoding:
// empty, an unknown format byte, or a body that does not decode.
var ErrMalformed = errors.New("history: malformed encoding")

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(CurrentFormat)
	enc := msgpack.GetEncoder()
	enc.Reset(&buf)
	err := enc.Encode(v)
	msgpack.PutEncoder(enc)
	if err != nil {
		return nil, fmt.Errorf("history: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func decode(b []byte, v any, what string) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty %s", ErrMalformed, what)
	}
	switch b[0] {
	case FormatMsgpack1:
		// Check first: msgpack trusts announced lengths, and a hostile
		// message could make it allocate gigabytes.
		if err := wire.Check(b[1:]); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
		}
		if err := msgpack.Unmarshal(b[1:], v); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
		}
		return nil
	default:
		return fmt.Errorf("%w: %s has unknown format %d (written by a newer jetflow?)", ErrMalformed, what, b[0])
	}
}

// EncodeCommit encodes a commit's events in the current format.
// Commit.ID, Seq and Time are not part of the body.
func EncodeCommit(c *Commit) ([]byte, error) {
	for i := range c.Events {
		if err := c.Events[i].validate(); err != nil {
			return nil, fmt.Errorf("history: commit event %d: %w", i, err)
		}
	}
	return encode(c)
}

// DecodeCommit decodes a commit written by EncodeCommit in any format this
// version knows. Each event is checked to be of a known kind.
func DecodeCommit(b []byte) (*Commit, error) {
	var c Commit
	if err := decode(b, &c, "commit"); err != nil {
		return nil, err
	}
	for i := range c.Events {
		if err := c.Events[i].validate(); err != nil {
			return nil, fmt.Errorf("%w: commit event %d: %v", ErrMalformed, i, err)
		}
		c.Events[i].normalize()
	}
	return &c, nil
}

// EncodeEvent encodes one event (an inbox message) in the current format.
func EncodeEvent(e *Event) ([]byte, error) {
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return encode(e)
}

// DecodeEvent decodes one event written by EncodeEvent.
func DecodeEvent(b []byte) (*Event, error) {
	var e Event
	if err := decode(b, &e, "event"); err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	e.normalize()
	return &e, nil
}

func (e *Event) validate() error {
	if !e.Kind.Valid() {
		return fmt.Errorf("unknown event kind %d", uint8(e.Kind))
	}
	return nil
}

// normalize puts decoded times in UTC (msgpack decodes into the local zone),
// so an event reads back equal to the one written in UTC.
func (e *Event) normalize() {
	e.Time = utc(e.Time)
	e.FireAt = utc(e.FireAt)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
