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

func TestBatchBySearchAttribute(t *testing.T) {
	e := newEnv(t)
	for _, s := range []struct{ id, team, region string }{
		{"bs1", "core", "eu"}, {"bs2", "core", "us"}, {"bs3", "web", "eu"},
	} {
		e.mustWfctl("start", "Approval", "--id", s.id, "--search", "team="+s.team, "--search", "region="+s.region)
		e.waitStarted(s.id)
	}
	r := e.mustWfctl("batch", "terminate", "--search", "team=core", "--dry-run")
	assert.Equal(t, "2 instances would be terminated\n", r.stdout)
	r = e.mustWfctl("batch", "terminate", "--search", "region=eu", "--id-contains", "BS", "--dry-run")
	assert.Equal(t, "2 instances would be terminated\n", r.stdout)
	r = e.mustWfctl("batch", "terminate", "--search", "team=core", "--search", "region=eu", "--batch-id", "t1", "--yes")
	assert.Contains(t, r.stdout, "batch terminate t1: 1 instances terminated, 0 skipped")
	r = e.wfctl("result", "bs1", "--wait", "1m")
	assert.Equal(t, exitUnsuccessful, r.code, r)
	r = e.mustWfctl("batch", "terminate", "--workflow", "Approval", "--dry-run")
	assert.Equal(t, "2 instances would be terminated\n", r.stdout, "bs2 and bs3 are still running")

	r = e.wfctl("batch", "cancel", "--search", "team")
	assert.Equal(t, exitUsage, r.code, r)
}
