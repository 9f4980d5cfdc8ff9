package activity_test

import (
	"context"
	"fmt"

	"github.com/jetflow/jetflow/activity"
	"github.com/jetflow/jetflow/tester"
)

// Import copies rows in batches and reports its progress with heartbeats,
// which keep its lease and feed HeartbeatTimeout.
func Import(ctx context.Context, rows int) (int, error) {
	done := 0
	for done < rows {
		if err := ctx.Err(); err != nil {
			return done, err // canceled: by a timeout or by its workflow
		}
		done = min(done+100, rows)
		activity.RecordHeartbeat(ctx, done)
	}
	activity.Logger(ctx).Info("import finished", "rows", done, "attempt", activity.Attempt(ctx))
	return done, nil
}

// An activity is plain Go with a context; the tester's ActivityEnv gives
// it the context a worker would and records its heartbeats.
func ExampleRecordHeartbeat() {
	env := tester.NewActivityEnv()
	v, err := env.ExecuteActivity(Import, 250)
	var n int
	if err == nil {
		err = v.Get(&n)
	}
	fmt.Println(n, err)
	fmt.Println(env.Heartbeats())
	// Output:
	// 250 <nil>
	// [[100] [200] [250]]
}
