package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/jetflow/jetflow/client"
	"github.com/jetflow/jetflow/streams"
)

// command is one wfctl command: its help text, its flags and what it does.
type command struct {
	// name is what the user types after "wfctl".
	name string
	// args is the usage of the positional arguments, as in "ID NAME".
	args string
	// minArgs and maxArgs bound the number of positional arguments.
	minArgs, maxArgs int
	// summary is the one line shown in the list of commands.
	summary string
	// description explains the command in a few paragraphs.
	description string
	// examples are shown at the end of the help, one command line each
	// (comment lines start with "#").
	examples []string
	// local reports that the command does not connect to NATS, so the
	// connection flags do not apply to it.
	local bool
	// flags defines the command's own flags.
	flags func(fs *flag.FlagSet)
	// run does the work with the positional arguments.
	run func(ctx context.Context, a *app, args []string) error
}

// commands lists every command in the order of the help.
func commands() []*command {
	return []*command{
		startCommand(),
		listCommand(),
		describeCommand(),
		historyCommand(),
		resultCommand(),
		signalCommand(),
		queryCommand(),
		updateCommand(),
		cancelCommand(),
		terminateCommand(),
		removeCommand(),
		scheduleCommand(),
		batchCommand(),
		replayCommand(),
		devCommand(),
		uiCommand(),
		benchCommand(),
		indexCommand(),
	}
}

// app is one invocation of wfctl: the global options, where output goes,
// and the connection, made on first use.
type app struct {
	stdout, stderr io.Writer
	g              globalFlags
	log            *slog.Logger
	// cmd is the command being run, once known.
	cmd *command
	// given holds the names of the flags given on the command line, global
	// ones included (before or after the command's name).
	given map[string]bool

	nc *nats.Conn
	b  *streams.Backend
	c  *client.Client
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr, g: defaultGlobalFlags()}
}

// main runs the command line argv (without the program name) and returns
// the exit code.
func (a *app) main(ctx context.Context, argv []string) int {
	err := a.dispatch(ctx, argv)
	code := exitCode(err, ctx.Err() != nil)
	if err != nil {
		fmt.Fprintf(a.stderr, "wfctl: %v\n", err)
		if code == exitUsage {
			if a.cmd != nil {
				fmt.Fprintf(a.stderr, "Run 'wfctl help %s' for usage.\n", a.cmd.name)
			} else {
				fmt.Fprintln(a.stderr, "Run 'wfctl help' for usage.")
			}
		}
	}
	return code
}

// dispatch parses the global flags, finds the command, parses its flags
// and runs it. Global flags may come before or after the command's name.
func (a *app) dispatch(ctx context.Context, argv []string) error {
	pre := flag.NewFlagSet("wfctl", flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	a.g.define(pre, true)
	if err := pre.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printUsage(a.stdout)
			return nil
		}
		return usageErrorf("%s", flagError(err))
	}
	rest := pre.Args()
	if len(rest) == 0 {
		a.printUsage(a.stderr)
		return withCode(exitUsage, errors.New("no command given"))
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		return a.help(rest)
	}
	cmd := findCommand(name)
	if cmd == nil {
		return usageErrorf("unknown command %q", name)
	}
	a.cmd = cmd
	if cmd.local {
		var set []string
		pre.Visit(func(f *flag.Flag) {
			if connectionFlags[f.Name] {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return usageErrorf("%s: %s does not apply (this command does not connect to a server)", cmd.name, strings.Join(set, ", "))
		}
	}

	fs := flag.NewFlagSet("wfctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	a.g.define(fs, !cmd.local)
	args, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.printCommandHelp(a.stdout, cmd)
			return nil
		}
		return usageErrorf("%s: %s", cmd.name, flagError(err))
	}
	if err := checkArgCount(cmd, args); err != nil {
		return err
	}
	a.given = map[string]bool{}
	for _, set := range []*flag.FlagSet{pre, fs} {
		set.Visit(func(f *flag.Flag) { a.given[f.Name] = true })
	}
	if err := a.g.check(); err != nil {
		return err
	}
	a.log = newLogger(a.stderr, a.g.verbose)
	defer a.close()
	return cmd.run(ctx, a, args)
}

// findCommand returns the command called name, or nil.
func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// help runs "wfctl help [COMMAND]".
func (a *app) help(args []string) error {
	switch len(args) {
	case 0:
		a.printUsage(a.stdout)
		return nil
	case 1:
		cmd := findCommand(args[0])
		if cmd == nil {
			return usageErrorf("help: unknown command %q", args[0])
		}
		a.printCommandHelp(a.stdout, cmd)
		return nil
	}
	return usageErrorf("help: expected at most one command, got %d arguments", len(args))
}

// checkArgCount checks the number of positional arguments.
func checkArgCount(cmd *command, args []string) error {
	n := len(args)
	switch {
	case n < cmd.minArgs && cmd.minArgs == cmd.maxArgs:
		return usageErrorf("%s: expected %s, got %d argument%s", cmd.name, cmd.args, n, plural(n))
	case n < cmd.minArgs:
		return usageErrorf("%s: missing argument (usage: wfctl %s %s)", cmd.name, cmd.name, cmd.args)
	case n > cmd.maxArgs:
		return usageErrorf("%s: unexpected argument %q (usage: wfctl %s %s)", cmd.name, args[cmd.maxArgs], cmd.name, cmd.args)
	}
	return nil
}

// parseInterspersed parses flags that may come before, between and after
// positional arguments (the flag package stops at the first positional
// one), and returns the positional arguments. A "--" ends the flags: all
// that follows is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagError rewrites the flag package's messages in the form users type
// flags in (--name, not -name).
func flagError(err error) string {
	msg := err.Error()
	for _, r := range [][2]string{
		{"flag provided but not defined: -", "unknown flag --"},
		{"flag needs an argument: -", "flag needs an argument: --"},
		{" for flag -", " for flag --"},
	} {
		msg = strings.Replace(msg, r[0], r[1], 1)
	}
	return msg
}

// printUsage writes the overview of all commands.
func (a *app) printUsage(w io.Writer) {
	fmt.Fprint(w, `wfctl operates jetflow workflows on NATS JetStream.

Usage:
  wfctl [global flags] COMMAND [arguments] [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `  help       show the help of a command

Global flags (before or after the command):
`)
	fs := flag.NewFlagSet("wfctl", flag.ContinueOnError)
	a.g.define(fs, true)
	printFlags(w, fs)
	fmt.Fprint(w, `
Run 'wfctl help COMMAND' for a command's flags and examples.

Exit codes: 0 success, 1 error, 2 usage error, 3 instance not found,
4 workflow failed/canceled/terminated (result), 5 workflow not finished
(result), 130 interrupted.
`)
}

// printCommandHelp writes the help of one command.
func (a *app) printCommandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: wfctl %s", cmd.name)
	if cmd.args != "" {
		fmt.Fprintf(w, " %s", cmd.args)
	}
	fmt.Fprint(w, " [flags]\n\n")
	fmt.Fprintln(w, strings.TrimSpace(cmd.description))

	own := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	if cmd.flags != nil {
		cmd.flags(own)
	}
	if hasFlags(own) {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, own)
	}
	global := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	a.g.define(global, !cmd.local)
	fmt.Fprint(w, "\nGlobal flags:\n")
	printFlags(w, global)

	if len(cmd.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, e := range cmd.examples {
			if strings.HasPrefix(e, "#") {
				fmt.Fprintf(w, "  %s\n", e)
				continue
			}
			fmt.Fprintf(w, "  $ %s\n", e)
		}
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printFlags writes the flags of fs in the GNU style users type them in
// (--name VALUE), with their defaults.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type line struct{ left, right string }
	var lines []line
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if value != "" {
			left += " " + value
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "0s" {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					def = strconv.Quote(def)
				}
			}
			usage += fmt.Sprintf(" (default %s)", def)
		}
		if r, ok := f.Value.(interface{ repeatable() bool }); ok && r.repeatable() {
			usage += " (repeatable)"
		}
		lines = append(lines, line{left, usage})
		width = max(width, len(left))
	})
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l.left, l.right)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// stringList is a flag that may be repeated; each use adds a value.
type stringList []string

func (l *stringList) String() string {
	if l == nil || len(*l) == 0 {
		return ""
	}
	return strings.Join(*l, " ")
}

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func (l *stringList) repeatable() bool { return true }

// oneOf returns an error unless v is one of allowed.
func oneOf[T ~string](what string, v T, allowed []T) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return usageErrorf("unknown %s %q (one of: %s)", what, v, strings.Join(names, ", "))
}
