package converter

import "fmt"

// EncodedValues are call arguments as they travel, each encoded by a
// converter: what a dynamic (catch-all) workflow or activity receives,
// to decode as it sees fit once it knows the name it was called as.
type EncodedValues struct {
	conv     Converter
	payloads [][]byte
}

// NewEncodedValues wraps payloads encoded by conv (nil: Default).
func NewEncodedValues(conv Converter, payloads [][]byte) EncodedValues {
	return EncodedValues{conv: OrDefault(conv), payloads: payloads}
}

// Len is the number of values.
func (v EncodedValues) Len() int { return len(v.payloads) }

// Get decodes value i (from 0) into valuePtr.
func (v EncodedValues) Get(i int, valuePtr any) error {
	if i < 0 || i >= len(v.payloads) {
		return fmt.Errorf("converter: value %d of %d", i, len(v.payloads))
	}
	if err := OrDefault(v.conv).Decode(v.payloads[i], valuePtr); err != nil {
		return fmt.Errorf("converter: value %d: %w", i, err)
	}
	return nil
}

// Payloads returns the encoded values.
func (v EncodedValues) Payloads() [][]byte { return v.payloads }
