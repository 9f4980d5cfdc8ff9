package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIndexRebuild(t *testing.T) {
	e := newEnv(t)
	e.mustWfctl("start", "Greet", "--id", "g", "--input", `"x"`)
	r := e.mustWfctl("index", "rebuild")
	assert.Contains(t, r.stdout, "index rebuilt: 0 rows written, 0 removed", "a started instance has its row")

	r = e.wfctl("index", "mend")
	assert.Equal(t, exitUsage, r.code, r)
	assert.Contains(t, r.stderr, `unknown action "mend"`)
}
