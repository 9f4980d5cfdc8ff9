package call_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/internal/call"
)

func charge(ctx context.Context, cents int) (string, error) { return "ok", nil }

func TestArgsRoundTrip(t *testing.T) {
	payloads, err := call.EncodeArgs(nil, []any{int64(5)})
	require.NoError(t, err)
	vals, err := call.DecodeArgs(nil, charge, 1, payloads)
	require.NoError(t, err)
	require.Len(t, vals, 1)
	assert.Equal(t, 5, vals[0].Interface(), "an int64 argument decodes into an int parameter")

	_, err = call.DecodeArgs(nil, charge, 1, nil)
	assert.EqualError(t, err, "takes 1 arguments (int), got 0")

	variadic := func(ctx context.Context, prefix string, rest ...int) error { return nil }
	payloads, err = call.EncodeArgs(converter.Default, []any{"p", 1, 2})
	require.NoError(t, err)
	vals, err = call.DecodeArgs(nil, variadic, 1, payloads)
	require.NoError(t, err)
	assert.Equal(t, []any{"p", 1, 2}, []any{vals[0].Interface(), vals[1].Interface(), vals[2].Interface()})
}

func TestEncodeArgsNamesTheArgument(t *testing.T) {
	_, err := call.EncodeArgs(nil, []any{1, make(chan int)})
	assert.ErrorContains(t, err, "encode argument 2")
}

func TestResult(t *testing.T) {
	out := reflect.ValueOf(charge).Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(1)})
	require.NoError(t, call.Err(out))
	b, err := call.EncodeResult(nil, out)
	require.NoError(t, err)
	var s string
	require.NoError(t, converter.Default.Decode(b, &s))
	assert.Equal(t, "ok", s)

	failing := func() error { return errors.New("boom") }
	out = reflect.ValueOf(failing).Call(nil)
	assert.EqualError(t, call.Err(out), "boom")
	b, err = call.EncodeResult(nil, out)
	require.NoError(t, err)
	assert.Nil(t, b, "a function returning only an error has no result")
}
