// Package fix tests the suggested fixes.
package fix

import (
	"time"

	wf "github.com/jetflow/jetflow/workflow"
)

func Workflow(c wf.Context, start time.Time) time.Duration {
	now := time.Now()             // want `time.Now in workflow code`
	time.Sleep(2 * time.Second)   // want `time.Sleep in workflow code`
	d := time.Since(start)        // want `time.Since in workflow code`
	d += time.Until(start.Add(d)) // want `time.Until in workflow code`
	_ = now
	func() {
		c := 3 // shadows the context: no fix
		_ = c
		_ = time.Now() // want `time.Now in workflow code`
	}()
	return d
}

func Blank(_ wf.Context) {
	_ = time.Now() // want `time.Now in workflow code`
}
