package fix

import (
	"fmt"
	"time"

	"github.com/jetflow/jetflow/workflow"
)

// Only uses package time once: the fix drops the import.
func Only(ctx workflow.Context) {
	fmt.Println(time.Now()) // want `time.Now in workflow code`
}
