package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBatchCancelCountsFirstAndActsWithYes(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"bc1", "bc2", "bc3"} {
		e.mustWfctl("start", "Approval", "--id", id)
		e.waitStarted(id)
	}
	r := e.mustWfctl("batch", "cancel", "--workflow", "Approval", "--dry-run")
	assert.Equal(t, "3 instances would be asked to cancel\n", r.stdout)
	r = e.mustWfctl("batch", "cancel", "--workflow", "Approval")
	assert.Contains(t, r.stdout, "nothing done: add --yes to do it")
	r = e.mustWfctl("batch", "cancel", "--workflow", "Approval", "--batch-id", "c1", "--yes")
	assert.Contains(t, r.stdout, "batch cancel c1: 3 instances asked to cancel, 0 skipped")
	for _, id := range []string{"bc1", "bc2", "bc3"} {
		r = e.wfctl("result", id, "--wait", "1m")
		assert.Equal(t, exitUnsuccessful, r.code, r)
		assert.Contains(t, r.stderr, "was canceled")
	}
	r = e.mustWfctl("batch", "cancel", "--workflow", "Approval", "--dry-run")
	assert.Equal(t, "0 instances would be asked to cancel\n", r.stdout)

	for _, tc := range []struct{ args []string }{
		{[]string{"batch", "pause"}},
		{[]string{"batch", "signal"}},
		{[]string{"batch", "cancel", "--reason", "x"}},
	} {
		r = e.wfctl(tc.args...)
		assert.Equal(t, exitUsage, r.code, r)
	}
}
