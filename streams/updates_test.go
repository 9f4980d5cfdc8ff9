package streams

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckUpdateID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"req-7", true},
		{"order 42 / line 3", true},
		{"ünïcode", true},
		{"", false},
		{strings.Repeat("x", MaxUpdateIDLength+1), false},
		{"bad\nid", false},
		{"bad\x00id", false},
		{"\xff", false},
	} {
		err := CheckUpdateID(tt.id)
		if tt.ok {
			assert.NoError(t, err, "%q", tt.id)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidName, "%q", tt.id)
	}
}
