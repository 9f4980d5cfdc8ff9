// Package good has a deterministic workflow, for the command's tests.
package good

import (
	"time"

	"github.com/jetflow/jetflow/workflow"
)

// Stamp reads the workflow's clock.
func Stamp(ctx workflow.Context) (time.Time, error) {
	return workflow.Now(ctx), nil
}
