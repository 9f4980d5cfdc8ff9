// Command dynamic shows registration beyond one function per name: two
// structs with a method of the same name, told apart by a name prefix, and
// a catch-all activity that serves names no function is registered as
// (here: HTTP-style hooks configured at run time).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/converter"
	"github.com/jetflow/jetflow/examples/internal/setup"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// Email and SMS both have a Send method.
type Email struct{}

// Send sends an email.
func (*Email) Send(ctx context.Context, to string) (string, error) { return "email to " + to, nil }

// SMS sends text messages.
type SMS struct{}

// Send sends a text message.
func (*SMS) Send(ctx context.Context, to string) (string, error) { return "sms to " + to, nil }

// Hook runs any hook by name: a catch-all activity.
func Hook(ctx context.Context, name string, args converter.EncodedValues) (any, error) {
	var payload string
	if err := args.Get(0, &payload); err != nil {
		return nil, err
	}
	return fmt.Sprintf("hook %s got %q", strings.TrimPrefix(name, "hook."), payload), nil
}

// Notify sends through both channels, then runs the hooks it is given.
func Notify(ctx workflow.Context, to string, hooks []string) ([]string, error) {
	var out []string
	for _, name := range append([]string{"email.Send", "sms.Send"}, hooks...) {
		s, err := workflow.ExecuteActivity[string](ctx, workflow.DefaultActivityOptions, name, to).Get(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

func main() {
	env := setup.Start("dynamic", func(w *worker.Worker) error {
		return errors.Join(
			w.RegisterWorkflow(Notify),
			w.RegisterActivity(&Email{}, worker.WithNamePrefix("email.")),
			w.RegisterActivity(&SMS{}, worker.WithNamePrefix("sms.")),
			w.RegisterDynamicActivity(Hook),
		)
	})
	defer env.Stop()
	ctx, cancel := setup.Context()
	defer cancel()

	inst, err := env.Client.CreateWorkflowInstance(ctx, client.WorkflowInstanceOptions{}, Notify, "ann", []string{"hook.audit", "hook.crm"})
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.GetWorkflowResult[[]string](ctx, env.Client, inst, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range out {
		fmt.Println(line)
	}
}
