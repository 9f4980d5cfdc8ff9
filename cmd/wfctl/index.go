package main

import (
	"context"
	"fmt"
)

func indexCommand() *command {
	return &command{
		name:    "index",
		args:    "rebuild",
		minArgs: 1, maxArgs: 1,
		summary: "repair the list index from the registry",
		description: `
The list index (the WF_<ns>_INDEX stream) makes lists cost the page, not
the namespace. The registry is the truth: a list repairs every row it
shows that the registry contradicts (a crash between the two writes), and
"wfctl index rebuild" repairs the rest: it writes the row of every
instance whose row is missing or stale and removes rows of removed
instances. It reads the whole registry and index: an operator's repair,
safe to run while workers run.`,
		examples: []string{`wfctl index rebuild`},
		run: func(ctx context.Context, a *app, args []string) error {
			if args[0] != "rebuild" {
				return usageErrorf("index: unknown action %q (want rebuild)", args[0])
			}
			b, err := a.backend()
			if err != nil {
				return err
			}
			written, removed, err := b.RebuildIndex(ctx)
			if err != nil {
				return fmt.Errorf("index rebuild: %w", err)
			}
			fmt.Fprintf(a.stdout, "index rebuilt: %d rows written, %d removed\n", written, removed)
			return nil
		},
	}
}
