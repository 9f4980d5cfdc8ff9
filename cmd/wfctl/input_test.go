package main

import (
	"flag"
	"testing"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		{`"text"`, "text"},
		{`42`, int64(42)},
		{`-7`, int64(-7)},
		{`3.0`, int64(3)},
		{`1e3`, int64(1000)},
		{`2.5`, 2.5},
		{`18446744073709551615`, uint64(18446744073709551615)},
		{`1e300`, 1e300},
		{`true`, true},
		{`null`, nil},
		{` [1, "a", [2.5]] `, []any{int64(1), "a", []any{2.5}}},
		{`{"A": {"B": 1}}`, map[string]any{"A": map[string]any{"B": int64(1)}}},
	} {
		got, err := parseInput(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{``, `{`, `1 2`, `{"a":1}}`, `nope`, `1e400`} {
		_, err := parseInput(bad)
		assert.Error(t, err, bad)
	}
}

// TestInputDecodesIntoGoTypes checks the conversion against the converter
// the workers use, type by type.
func TestInputDecodesIntoGoTypes(t *testing.T) {
	type inner struct{ N uint8 }
	type target struct {
		I   int
		I8  int8
		U   uint
		F   float64
		F32 float32
		B   bool
		S   string
		Bs  []byte
		Xs  []int
		M   map[string]float64
		In  inner
		P   *inner
		Any any
		D   time.Duration
	}
	v, err := parseArg(`{"I": 1.0, "I8": -3, "U": 7, "F": 2, "F32": 4, "B": true, "S": "s", "Bs": "raw",
		"Xs": [1, 2], "M": {"a": 1, "b": 0.5}, "In": {"N": 200}, "P": {"N": 1}, "Any": 1.5,
		"D": 1500000000}`)
	require.NoError(t, err)
	conv := converter.Msgpack{}
	data, err := conv.Encode(v)
	require.NoError(t, err)
	var got target
	require.NoError(t, conv.Decode(data, &got))
	assert.Equal(t, target{
		I: 1, I8: -3, U: 7, F: 2, F32: 4, B: true, S: "s", Bs: []byte("raw"),
		Xs: []int{1, 2}, M: map[string]float64{"a": 1, "b": 0.5}, In: inner{N: 200}, P: &inner{N: 1}, Any: 1.5,
		D: 1500 * time.Millisecond,
	}, got)

	// msgpack's float32 decoder takes integers and float32s, not float64s:
	// a fraction cannot reach a float32 field (see parseInput).
	v, err = parseArg(`{"F32": 0.25}`)
	require.NoError(t, err)
	data, err = conv.Encode(v)
	require.NoError(t, err)
	assert.Error(t, conv.Decode(data, &got))

	// Nor does a time.Time take a string: msgpack wants its time extension.
	v, err = parseArg(`{"T": "2025-01-02T15:04:05Z"}`)
	require.NoError(t, err)
	data, err = conv.Encode(v)
	require.NoError(t, err)
	var withTime struct{ T time.Time }
	assert.Error(t, conv.Decode(data, &withTime))
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		json bool
		run  string
	}{
		{[]string{"ID"}, []string{"ID"}, false, ""},
		{[]string{"ID", "--json"}, []string{"ID"}, true, ""},
		{[]string{"--json", "ID", "--run", "r", "NAME"}, []string{"ID", "NAME"}, true, "r"},
		{[]string{"ID", "--", "--json"}, []string{"ID", "--json"}, false, ""},
		{[]string{"--", "-dash-id"}, []string{"-dash-id"}, false, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "")
		run := fs.String("run", "", "")
		pos, err := parseInterspersed(fs, tc.args)
		require.NoError(t, err, tc.args)
		assert.Equal(t, tc.pos, pos, tc.args)
		assert.Equal(t, tc.json, *asJSON, tc.args)
		assert.Equal(t, tc.run, *run, tc.args)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{
		"1234567ns": "1ms",
		"1234ms":    "1.2s",
		"75s":       "1m15s",
		"3h2m1.6s":  "3h2m2s",
		"-1500ms":   "-1.5s",
	} {
		pd, err := time.ParseDuration(d)
		require.NoError(t, err)
		assert.Equal(t, want, formatDuration(pd), d)
	}
}
