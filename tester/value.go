package tester

import (
	"errors"

	"github.com/jetflow/jetflow/converter"
)

// EncodedValue is a result as the converter encoded it: the answer to a
// query, or the result of an activity run by ActivityEnv.ExecuteActivity.
// Decode it with Get, into the type the caller expects, as a client would.
type EncodedValue struct {
	data []byte
	conv converter.Converter
}

// HasValue reports whether there is a value to decode (an activity that
// returns only an error has none).
func (v EncodedValue) HasValue() bool { return len(v.data) > 0 }

// Get decodes the value into valuePtr, a non-nil pointer. Without a value
// it leaves *valuePtr as it is.
func (v EncodedValue) Get(valuePtr any) error {
	if !v.HasValue() {
		return nil
	}
	if v.conv == nil {
		return errors.New("tester: EncodedValue has no converter")
	}
	return v.conv.Decode(v.data, valuePtr)
}
