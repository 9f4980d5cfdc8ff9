package call_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
)

type order struct {
	ID  string
	Qty int
}

func byValue(ctx context.Context, o order) error                    { return nil }
func byPointer(ctx context.Context, o *order) error                 { return nil }
func listByValue(ctx context.Context, os []order) error             { return nil }
func mapOfPointers(ctx context.Context, os map[string]*order) error { return nil }
func rawBytes(ctx context.Context, b []byte) error                  { return nil }

// A pointer where the parameter is a value (or the reverse) passes the
// check and arrives as the value, through the converter; what the
// converter cannot map is refused with the argument's index and both
// types.
func TestPointerAndValueFit(t *testing.T) {
	o := order{ID: "o-1", Qty: 2}
	tests := []struct {
		name string
		fn   any
		arg  any
		want any    // the parameter's value after the round trip
		err  string // the check's error, if it must fail
	}{
		{"pointer for a value", byValue, &o, o, ""},
		{"nil pointer for a value: the zero value", byValue, (*order)(nil), order{}, ""},
		{"value for a pointer", byPointer, o, &o, ""},
		{"slice of pointers for a slice of values", listByValue, []*order{&o}, []order{o}, ""},
		{"map of values for a map of pointers", mapOfPointers, map[string]order{"a": o}, map[string]*order{"a": &o}, ""},
		{"a different struct", byValue, struct{ X int }{1}, nil, "argument 1: struct { X int } does not fit call_test.order"},
		{"a pointer to a string", byValue, new(string), nil, "argument 1: *string does not fit call_test.order"},
		{"ints are not bytes", rawBytes, []int{1}, nil, "argument 1: []int does not fit []uint8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := funcinfo.CheckArgs(reflect.TypeOf(tt.fn), 1, []any{tt.arg})
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			payloads, err := call.EncodeArgs(nil, []any{tt.arg})
			require.NoError(t, err)
			vals, err := call.DecodeArgs(nil, tt.fn, 1, payloads)
			require.NoError(t, err)
			assert.Equal(t, tt.want, vals[0].Interface())
		})
	}
}
