// Package call is the one codec of calls to workflow, activity, query and
// signal functions: it encodes the arguments a caller passes, decodes them
// for the parameters of the function called, and encodes and decodes
// results, all through the application's converter. The client, the
// engine, the worker and the tester share it, so an argument that travels
// one way travels every way.
package call

import (
	"fmt"
	"reflect"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/funcinfo"
)

// EncodeArgs encodes call arguments with conv (nil: converter.Default).
// An error names the argument (counting from 1).
func EncodeArgs(conv converter.Converter, args []any) ([][]byte, error) {
	if len(args) == 0 {
		return nil, nil
	}
	conv = converter.OrDefault(conv)
	out := make([][]byte, len(args))
	for i, a := range args {
		b, err := conv.Encode(a)
		if err != nil {
			return nil, fmt.Errorf("encode argument %d: %w", i+1, err)
		}
		out[i] = b
	}
	return out, nil
}

// DecodeArgs decodes payloads into values for the parameters of fn that
// follow its first skip ones (1 for workflows and activities, whose first
// parameter is a context), ready for reflect.Value.Call. Errors say which
// argument does not fit and how many fn takes.
func DecodeArgs(conv converter.Converter, fn any, skip int, payloads [][]byte) ([]reflect.Value, error) {
	return DecodeArgsOf(conv, reflect.TypeOf(fn), skip, payloads)
}

// DecodeArgsOf is DecodeArgs for a function type.
func DecodeArgsOf(conv converter.Converter, t reflect.Type, skip int, payloads [][]byte) ([]reflect.Value, error) {
	return funcinfo.DecodeArgs(t, skip, payloads, converter.OrDefault(conv).Decode)
}

// EncodeResult encodes the result of a call that returned out (the values
// of a func returning error or (T, error)): nil for a function that
// returns only an error.
func EncodeResult(conv converter.Converter, out []reflect.Value) ([]byte, error) {
	if len(out) < 2 {
		return nil, nil
	}
	b, err := converter.OrDefault(conv).Encode(out[0].Interface())
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}

// Err is the error a call that returned out ended with: its last value.
func Err(out []reflect.Value) error {
	if e := out[len(out)-1]; !e.IsNil() {
		return e.Interface().(error)
	}
	return nil
}
