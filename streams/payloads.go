package streams

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/sentinel"
)

// WithCodec sets the codec of every payload of the namespace: workflow and
// activity arguments and results, signal, update and query values,
// side-effect results and heartbeat details pass the converter and then
// the codec before they are stored or sent, and the codec in reverse
// when they are read. Names, IDs, event kinds, failure messages and search
// attributes are not payloads and stay readable. Like the converter it is
// a setting of the whole application: every worker, client, UI and wfctl
// of the namespace needs the same codec (with every key still in use) to
// read the payloads. Payloads stored before a codec was set stay readable.
func WithCodec(c codec.Codec) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("streams: nil codec")
		}
		o.codec = c
		return nil
	}
}

// ErrNoCodec is returned (wrapped) when a payload was encoded with a codec
// and the backend reading it has none.
var ErrNoCodec = errors.New("streams: payload was encoded with a codec and this backend has none (streams.WithCodec)")

// ErrPayloadUnavailable matches (errors.Is) the errors of a payload that is
// not malformed but cannot be read by this process now: encrypted with a
// key its codec lacks (codec.ErrKeyNotFound, which the error also
// matches), encoded with a codec it does not have (ErrNoCodec), or stored
// as an object that is missing (ErrPayloadMissing) or could not be read
// (a timeout of the object store). The fault is the process's
// configuration or the store, not the payload: a worker meeting one in a
// task retries the task later (the run does not fail), so a worker that
// has the key, or the store once it is back, takes it.
var ErrPayloadUnavailable = sentinel.PayloadUnavailable

// unavailable marks err as ErrPayloadUnavailable, keeping its message and
// its chain (errors.Is and errors.As still find the cause).
func unavailable(err error) error { return &unavailableError{err} }

type unavailableError struct{ err error }

func (u *unavailableError) Error() string        { return u.err.Error() }
func (u *unavailableError) Unwrap() error        { return u.err }
func (u *unavailableError) Is(target error) bool { return target == ErrPayloadUnavailable }

// A payload this layer wrapped starts with payloadMarker and a byte saying
// what follows. 0xc1 is the one byte msgpack never uses, and it cannot
// start UTF-8 text (so no JSON either): payloads stored before codecs
// existed never start with it, and stay readable as they are.
const payloadMarker byte = 0xc1

const (
	// wrapPlain: the converter's own bytes, which happened to start with
	// the marker (only a custom converter can make those).
	wrapPlain byte = 0
	// wrapCodec: the codec's output.
	wrapCodec byte = 1
)

// PayloadConverter is the converter a backend hands out (Backend.Converter):
// the namespace's converter with its codec applied after encoding and
// undone before decoding. Workers, clients, the UI and wfctl all encode and
// decode through it, so no payload bypasses the codec.
type PayloadConverter struct {
	inner converter.Converter
	codec codec.Codec // nil: none
	// fetch reads a payload from the object store (payloadstore.go).
	fetch func(name string) ([]byte, error)
}

func newPayloadConverter(conv converter.Converter, c codec.Codec) *PayloadConverter {
	return &PayloadConverter{inner: converter.OrDefault(conv), codec: c}
}

// Inner is the converter under the codec (streams.WithConverter).
func (p *PayloadConverter) Inner() converter.Converter { return p.inner }

// Encode encodes v with the converter, then the codec.
func (p *PayloadConverter) Encode(v any) ([]byte, error) {
	data, err := p.inner.Encode(v)
	if err != nil {
		return nil, err
	}
	return p.wrap(data)
}

// Decode undoes the codec, then decodes with the converter.
func (p *PayloadConverter) Decode(data []byte, v any) error {
	plain, err := p.Plain(data)
	if err != nil {
		return err
	}
	return p.inner.Decode(plain, v)
}

// wrap applies the codec to a converter's bytes.
func (p *PayloadConverter) wrap(data []byte) ([]byte, error) {
	if p.codec == nil {
		if len(data) > 0 && data[0] == payloadMarker {
			return append([]byte{payloadMarker, wrapPlain}, data...), nil
		}
		return data, nil
	}
	enc, err := p.codec.Encode(context.Background(), data)
	if err != nil {
		return nil, fmt.Errorf("streams: encode payload: %w", err)
	}
	out := make([]byte, 2+len(enc))
	out[0], out[1] = payloadMarker, wrapCodec
	copy(out[2:], enc)
	return out, nil
}

// Plain gives back the converter's bytes of a stored payload: the codec
// undone. A payload encrypted with a key the codec lacks gives an error
// wrapping a *codec.KeyNotFoundError that names the key.
func (p *PayloadConverter) Plain(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != payloadMarker {
		return data, nil
	}
	body := data[2:]
	switch data[1] {
	case wrapPlain:
		return body, nil
	case wrapCodec:
		if p.codec == nil {
			if id, ok := codec.EncryptedKeyID(body); ok {
				return nil, unavailable(fmt.Errorf("%w: %w", ErrNoCodec, &codec.KeyNotFoundError{KeyID: id}))
			}
			return nil, unavailable(ErrNoCodec)
		}
		plain, err := p.codec.Decode(context.Background(), body)
		if err != nil {
			err = fmt.Errorf("streams: decode payload: %w", err)
			if errors.Is(err, codec.ErrKeyNotFound) {
				return nil, unavailable(err)
			}
			return nil, err
		}
		return plain, nil
	case wrapRef:
		ref, err := parseRef(body)
		if err != nil {
			return nil, err
		}
		if p.fetch == nil {
			return nil, unavailable(fmt.Errorf("streams: payload is stored as object %q, and this converter reads no object store", ref.Name))
		}
		stored, err := p.fetch(ref.Name)
		if err != nil {
			// Missing, or the store did not answer: either way not
			// the payload's fault (fetch returns no other errors).
			return nil, unavailable(err)
		}
		if isRef(stored) {
			return nil, fmt.Errorf("streams: stored payload %q is itself a reference", ref.Name)
		}
		return p.Plain(stored)
	default:
		return nil, fmt.Errorf("streams: payload has an unknown wrapping %d (written by a newer jetflow?)", data[1])
	}
}
