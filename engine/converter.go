package engine

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/internal/wire"
)

// Converter turns workflow and activity arguments and results into bytes
// and back. Every party of an application (clients, workers) must use the
// same one.
type Converter interface {
	// Encode encodes v.
	Encode(v any) ([]byte, error)
	// Decode decodes data into v, which is a non-nil pointer.
	Decode(data []byte, v any) error
}

// MsgpackConverter encodes with msgpack (github.com/vmihailenco/msgpack/v5):
// compact, and struct fields travel by name.
type MsgpackConverter struct{}

// DefaultConverter is the converter used when none is given.
var DefaultConverter Converter = MsgpackConverter{}

// Encode encodes v with msgpack.
func (MsgpackConverter) Encode(v any) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("msgpack: encode %T: %w", v, err)
	}
	return b, nil
}

// Decode decodes msgpack data into v. The data is checked first: payloads
// come from the network, and msgpack trusts the lengths they announce.
func (MsgpackConverter) Decode(data []byte, v any) error {
	if err := wire.Check(data); err != nil {
		return fmt.Errorf("msgpack: decode into %T: %w", v, err)
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		return fmt.Errorf("msgpack: decode into %T: %w", v, err)
	}
	return nil
}
