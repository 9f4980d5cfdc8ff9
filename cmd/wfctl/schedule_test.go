package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/internal/testenv"
)

func TestScheduleCommands(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("schedule", "create", "s1", "Approval", "--every", "1h", "--note", "n", "--paused")
	r := e.wfctl("schedule", "create", "s1", "Approval", "--every", "1h")
	assert.NotEqual(t, 0, r.code, r)
	r = e.wfctl("schedule", "create", "s2", "Approval", "--cron", "61 * * * *")
	assert.Equal(t, exitError, r.code, r)

	r = e.mustWfctl("schedule", "list")
	assert.Contains(t, r.stdout, "s1")
	assert.Contains(t, r.stdout, "paused: n")

	e.mustWfctl("schedule", "unpause", "s1")
	r = e.mustWfctl("schedule", "describe", "s1", "--json")
	var d client.ScheduleDescription
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), r)
	assert.False(t, d.Paused)
	assert.Len(t, d.NextFires, 5)

	e.mustWfctl("schedule", "trigger", "s1")
	testenv.WaitFor(t, 20*time.Second, "the trigger's start", func() bool {
		d, err := e.c.DescribeSchedule(e.ctx(), "s1")
		require.NoError(t, err)
		return len(d.RecentFires) == 1 && d.RecentFires[0].Outcome == "started"
	})
	r = e.mustWfctl("schedule", "backfill", "s1", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T03:00:00Z", "--overlap", "allow_all")
	assert.Contains(t, r.stdout, "sent 3 fires")
	e.mustWfctl("schedule", "pause", "s1", "--note", "stop")
	r = e.mustWfctl("schedule", "describe", "s1")
	assert.Contains(t, r.stdout, "paused: stop")
	e.mustWfctl("schedule", "delete", "s1")
	r = e.wfctl("schedule", "describe", "s1")
	assert.Equal(t, exitNotFound, r.code, r)
	r = e.wfctl("schedule", "frobnicate")
	assert.Equal(t, exitUsage, r.code, r)
	r = e.mustWfctl("schedule", "--help")
	assert.Contains(t, r.stdout, "backfill")
}
