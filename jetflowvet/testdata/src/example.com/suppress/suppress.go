// Package suppress tests the //jetflowvet:ignore directive.
package suppress

import (
	"time"

	"github.com/jetflow/jetflow/workflow"
)

func Workflow(ctx workflow.Context) {
	_ = time.Now() //jetflowvet:ignore logged only, never decides anything

	//jetflowvet:ignore the line before counts too
	_ = time.Now()

	// want +1 `jetflowvet:ignore needs a reason` `time.Now in workflow code`
	_ = time.Now() //jetflowvet:ignore

	// want +1 `jetflowvet:ignore needs a reason`
	//jetflowvet:ignore
	_ = time.Now() // want `time.Now in workflow code`

	_ = time.Now() //jetflowvet:ignored is another word // want `time.Now in workflow code`

	//jetflowvet:ignore one line only

	_ = time.Now() // want `time.Now in workflow code`
}
