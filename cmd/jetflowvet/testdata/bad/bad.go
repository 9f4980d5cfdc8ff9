// Package bad has a workflow that reads the clock, for the command's tests.
package bad

import (
	"time"

	"github.com/jetflow/jetflow/workflow"
)

// Stamp reads the wall clock: not deterministic.
func Stamp(ctx workflow.Context) (time.Time, error) {
	return time.Now(), nil
}
