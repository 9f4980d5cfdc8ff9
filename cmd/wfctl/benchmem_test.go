package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test's NATS server runs in the test's process: its pid is the
// server's for --server-pid, as an external nats-server's would be.
func TestBenchServerMemory(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "heap.pprof")
	rep, _ := benchJSON(t, "--server", natsURL, "signals", "--instances", "20", "-c", "5",
		"--server-pid", strconv.Itoa(os.Getpid()), "--server-store", dir, "--memprofile", profile)
	require.NotNil(t, rep.Memory.Server)
	assert.Equal(t, os.Getpid(), rep.Memory.Server.PID)
	require.NotNil(t, rep.Memory.Server.Waiting)
	assert.Positive(t, rep.Memory.Server.Waiting.RSSBytes)
	assert.Positive(t, rep.Memory.Server.End.PeakRSSBytes)
	assert.Positive(t, rep.Memory.WaitingGoroutines)
	b, err := os.ReadFile(profile)
	require.NoError(t, err)
	assert.Greater(t, len(b), 2, "the heap profile is written")

	r := runWfctl(t, commandTimeout, "bench", "--server", natsURL, "signals", "--instances", "20", "-c", "5",
		"--server-pid", strconv.Itoa(os.Getpid()), "--request-timeout", "30s")
	require.Equal(t, 0, r.code, r)
	assert.Contains(t, r.stdout, "  server          before RSS ")
	assert.Contains(t, r.stdout, "; while all waited RSS ")
	assert.Contains(t, r.stdout, " goroutines (this process", "the waiting goroutines are counted")
}

func TestBenchMemoryUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "signals", "--server-pid", "1"}, "--server-pid is for an external server (--server)"},
		{[]string{"bench", "signals", "--server", "nats://127.0.0.1:1", "--server-pid", "-3"}, "--server-pid -3: a process id is positive"},
		{[]string{"bench", "signals", "--server", "nats://127.0.0.1:1", "--server-store", "/tmp"}, "--server-store goes with --server-pid"},
		{[]string{"bench", "simple", "--memprofile", "x.pprof"}, "--memprofile is taken while every instance waits: signals only"},
		{[]string{"bench", "simple", "--request-timeout", "-1s"}, "--request-timeout -1s: a timeout is positive"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runWfctl(t, commandTimeout, tc.args...)
			assert.Equal(t, exitUsage, r.code, r)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, r.stdout)
		})
	}
}
