package engine_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/engine"
	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/registry"
	"github.com/jetflow/jetflow/workflow"
)

func Greet(ctx context.Context, name string) (string, error) { return "Hello, " + name, nil }

func Greeting(ctx workflow.Context, name string) (string, error) {
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return "", err
	}
	return workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, Greet, name).Get(ctx)
}

// Example runs a workflow through an executor, playing the worker: each
// Execute is one workflow task, its output one commit. A fresh executor then
// replays the committed history and issues nothing new.
func Example() {
	workflows, _ := registry.NewWorkflows(Greeting)
	ex, _ := engine.NewExecutor(engine.Options{InstanceID: "greet-1", ExecutionID: "run-1", Registry: workflows})
	defer ex.Close()

	enc := func(v any) []byte { b, _ := converter.Default.Encode(v); return b }
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var committed []history.Event
	task := func(in history.Event) []history.Event {
		out, err := ex.Execute([]history.Event{in})
		if err != nil {
			panic(err)
		}
		for _, ev := range out {
			fmt.Println(strings.TrimSpace(fmt.Sprint(ev.ID, " ", ev.Kind, " ", ev.Name)))
		}
		committed = append(committed, out...)
		return out
	}

	out := task(history.Event{Kind: history.WorkflowStarted, Name: "Greeting", Args: [][]byte{enc("Ann")}, Time: start, InboxID: "m1"})
	fmt.Println("timer due at", out[1].FireAt.Format(time.Kitchen))
	out = task(history.Event{Kind: history.TimerFired, ScheduleID: out[1].ID, Time: out[1].FireAt, InboxID: "m2"})
	task(history.Event{Kind: history.ActivityCompleted, ScheduleID: out[1].ID, Result: enc("Hello, Ann"), InboxID: "m3"})

	final, _ := ex.Final()
	var result string
	converter.Default.Decode(final.Result, &result)
	fmt.Println("result:", result)

	replayed, _ := engine.NewExecutor(engine.Options{InstanceID: "greet-1", ExecutionID: "run-1", Registry: workflows})
	defer replayed.Close()
	err := replayed.Replay(committed)
	extra, _ := replayed.Execute(nil)
	fmt.Println("replay:", err, len(extra), "new events")
	// Output:
	// 1 WorkflowStarted Greeting
	// 2 TimerScheduled
	// timer due at 12:01PM
	// 3 TimerFired
	// 4 ActivityScheduled Greet
	// 5 ActivityCompleted
	// 6 WorkflowCompleted
	// result: Hello, Ann
	// replay: <nil> 0 new events
}
