// Package converter turns the values a workflow application passes around
// (workflow and activity arguments and results, signal and query values,
// heartbeat details) into bytes and back.
//
// One converter serves a whole application: it is set once on the backend
// (streams.WithConverter) and read from there by workers, clients, the web
// UI and wfctl, so every party encodes alike. The default is Msgpack.
package converter

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/internal/wire"
)

// Converter turns values into bytes and back. Implementations must be safe
// for concurrent use.
type Converter interface {
	// Encode encodes v.
	Encode(v any) ([]byte, error)
	// Decode decodes data into v, which is a non-nil pointer.
	Decode(data []byte, v any) error
}

// Msgpack encodes with msgpack (github.com/vmihailenco/msgpack/v5): compact,
// and struct fields travel by name.
type Msgpack struct{}

// Default is the converter used when none is set: Msgpack.
var Default Converter = Msgpack{}

// Encode encodes v with msgpack.
func (Msgpack) Encode(v any) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("msgpack: encode %T: %w", v, err)
	}
	return b, nil
}

// Decode decodes msgpack data into v. The data is checked first: payloads
// come from the network, and msgpack trusts the lengths they announce.
func (Msgpack) Decode(data []byte, v any) error {
	if err := wire.Check(data); err != nil {
		return fmt.Errorf("msgpack: decode into %T: %w", v, err)
	}
	if body, ok := JSONInputBody(data); ok {
		if err := decodeJSONInput(body, v); err != nil {
			return fmt.Errorf("msgpack: decode JSON input into %T: %w", v, err)
		}
		return nil
	}
	if err := msgpack.Unmarshal(data, v); err != nil {
		return fmt.Errorf("msgpack: decode into %T: %w", v, err)
	}
	return nil
}

// OrDefault returns c, or Default when c is nil.
func OrDefault(c Converter) Converter {
	if c == nil {
		return Default
	}
	return c
}
