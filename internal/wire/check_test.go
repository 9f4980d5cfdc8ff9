package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

func TestCheckAcceptsWellFormed(t *testing.T) {
	values := []any{
		nil, true, 1, -1, 300, -300, 1 << 40, 3.5, float32(1.5), "", "short", string(make([]byte, 300)),
		[]byte{}, make([]byte, 70000), []any{1, "a", []any{}}, map[string]any{"a": 1, "b": []int{1, 2}},
		time.Unix(1, 2), make([]int, 20), map[string]int{},
	}
	for _, v := range values {
		b, err := msgpack.Marshal(v)
		require.NoError(t, err)
		assert.NoError(t, Check(b), "%T %v", v, v)
	}
}

func TestCheckRefuses(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, MaxDepth+1), 0x01)
	okDeep := append(bytes.Repeat([]byte{0x91}, MaxDepth), 0x01)
	require.NoError(t, Check(okDeep))
	tests := map[string][]byte{
		"empty":                 {},
		"never-used byte":       {0xc1},
		"array32 of 4 billion":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01},
		"map16 past the end":    {0xde, 0x00, 0x02, 0x01, 0x01},
		"str32 past the end":    {0xdb, 0x00, 0x00, 0x10, 0x00, 'a'},
		"truncated uint64":      {0xcf, 0x00, 0x01},
		"truncated bin length":  {0xc5, 0x00},
		"two values":            {0x01, 0x02},
		"nested too deep":       deep,
		"fixarray missing item": {0x92, 0x01},
		"ext past the end":      {0xc7, 0x05, 0x01, 0x00},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, Check(b), ErrMalformed)
		})
	}
}

// FuzzCheck: whatever Check accepts, msgpack decodes without trouble into
// an interface value (and Check itself never panics).
func FuzzCheck(f *testing.F) {
	for _, v := range []any{map[string]any{"e": []any{map[string]any{"k": 1}}}, []any{1, "x"}, "s"} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if Check(b) != nil {
			return
		}
		var v any
		_ = msgpack.Unmarshal(b, &v)
	})
}
