package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadServerUsage(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "jetstream", "s"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jetstream", "s", "1.blk"), bytes.Repeat([]byte("x"), 100_000), 0o644))

	u, err := readServerUsage(os.Getpid(), dir)
	require.NoError(t, err)
	assert.Positive(t, u.RSSBytes)
	assert.GreaterOrEqual(t, u.PeakRSSBytes, u.RSSBytes, "the peak is at least the resident size now")
	assert.GreaterOrEqual(t, u.StoreBytes, uint64(100_000), "the file's blocks count")

	u, err = readServerUsage(os.Getpid(), "")
	require.NoError(t, err)
	assert.Zero(t, u.StoreBytes, "no store folder, no disk figure")

	_, err = readServerUsage(1<<31-1, "") // above any pid_max: no such process
	assert.ErrorContains(t, err, "the server's memory")
	_, err = readServerUsage(os.Getpid(), filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "the server's store")
}

func TestConfigCheckMemory(t *testing.T) {
	for _, tc := range []struct {
		change func(c *Config)
		want   string
	}{
		{func(c *Config) { c.Workload, c.HeapProfile = Simple, &bytes.Buffer{} }, "--memprofile is taken while every instance waits: signals only"},
		{func(c *Config) { c.ServerPID = -1 }, "--server-pid must not be negative"},
		{func(c *Config) { c.ServerStore = "/tmp" }, "--server-store goes with --server-pid"},
	} {
		c := DefaultConfig(Signals)
		tc.change(&c)
		assert.ErrorContains(t, c.Check(), tc.want)
	}
	c := DefaultConfig(Signals)
	c.HeapProfile, c.ServerPID, c.ServerStore = &bytes.Buffer{}, 1, "/tmp"
	assert.NoError(t, c.Check())
}

// TestSignalsMemory reads the memory of a "server" process: the embedded
// server runs in the test's process, so its pid stands in for an external
// one's.
func TestSignalsMemory(t *testing.T) {
	store := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(store, "x"), bytes.Repeat([]byte("x"), 10_000), 0o644))
	var profile bytes.Buffer
	c := small(Signals)
	c.CacheSize = 100 // every instance stays cached while it waits
	c.ServerPID, c.ServerStore, c.HeapProfile = os.Getpid(), store, &profile
	r := run(t, c)

	m := r.Memory
	assert.GreaterOrEqual(t, m.WaitingGoroutines, uint64(c.Instances), "each cached executor keeps its workflow's goroutine")
	assert.Positive(t, m.WaitingStackBytes)
	require.NotNil(t, m.Server)
	assert.Equal(t, os.Getpid(), m.Server.PID)
	require.NotNil(t, m.Server.Waiting, "read while every instance waited")
	for name, u := range map[string]ServerUsage{"before": m.Server.Before, "waiting": *m.Server.Waiting, "end": m.Server.End} {
		assert.Positive(t, u.RSSBytes, name)
		assert.GreaterOrEqual(t, u.StoreBytes, uint64(10_000), name)
	}
	assert.GreaterOrEqual(t, m.Server.End.PeakRSSBytes, m.Server.Waiting.RSSBytes, "the peak since the start covers the waiting moment")
	require.Greater(t, profile.Len(), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, profile.Bytes()[:2], "a pprof profile is gzipped")
}
