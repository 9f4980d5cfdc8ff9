// Command wfctl operates jetflow workflows from the command line: it starts
// instances, lists and describes them, shows their histories (and follows
// them as they grow), signals, cancels, terminates, queries and removes
// them, waits for results, runs a development NATS server, and replays
// stored histories against the current workflow code before a deploy.
//
// Run "wfctl help" for the list of commands and "wfctl help COMMAND" (or
// "wfctl COMMAND --help") for one of them; docs/wfctl.md has the same with
// examples.
//
// Exit codes: 0 success; 1 error; 2 usage error (unknown command or flag,
// missing argument, malformed input); 3 instance (or run) not found;
// 4 the workflow ended without success (failed, canceled, terminated;
// from "result"); 5 the workflow has not finished (from "result");
// 130 interrupted.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling: a second
	// Ctrl-C ends the process at once, even if a shutdown hangs.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := newApp(os.Stdout, os.Stderr).main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
