package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A payload announcing billions of elements is refused before msgpack
// allocates for them.
func TestMsgpackConverterRefusesAllocationBomb(t *testing.T) {
	var v []string
	err := MsgpackConverter{}.Decode([]byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0xa0}, &v)
	require.ErrorContains(t, err, "malformed msgpack")
}
