package rounds

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCount(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	hits, err := Count([]string{"a", "b"}, 3, 10, "r", func(c, name string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		require.False(t, seen[name], "round %s ran twice", name)
		seen[name] = true
		return c == "b" && strings.HasSuffix(name, "-7"), nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, hits)
	assert.Len(t, seen, 20)
	assert.True(t, seen["r0-0"] && seen["r1-9"])
}

func TestCountReportsErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := Count([]int{1}, 2, 5, "r", func(c int, name string) (bool, error) {
		if name == "r0-3" {
			return false, boom
		}
		return false, nil
	})
	assert.ErrorIs(t, err, boom)
}
