package converter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
)

// A payload announcing billions of elements is refused before msgpack
// allocates for them.
func TestMsgpackRefusesAllocationBomb(t *testing.T) {
	var v []string
	err := converter.Msgpack{}.Decode([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xa0}, &v)
	require.ErrorContains(t, err, "malformed msgpack")
}

func TestMsgpackRoundTrip(t *testing.T) {
	type order struct {
		ID    string
		Cents int
	}
	b, err := converter.Default.Encode(order{"o-1", 250})
	require.NoError(t, err)
	var got order
	require.NoError(t, converter.Default.Decode(b, &got))
	assert.Equal(t, order{"o-1", 250}, got)
}

func TestOrDefault(t *testing.T) {
	assert.Equal(t, converter.Default, converter.OrDefault(nil))
	var mine converter.Converter = converter.Msgpack{}
	assert.Equal(t, mine, converter.OrDefault(mine))
}
