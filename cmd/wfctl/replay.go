package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/jetflow/jetflow/internal/logkey"
	"github.com/jetflow/jetflow/worker"
	"github.com/jetflow/jetflow/workflow"
)

// replayTestFile is the name of the generated test file inside the
// package's folder. It exists only in the build's overlay.
const replayTestFile = "wfctl_replay_generated_test.go"

// replayOutput is the JSON "wfctl replay --json" writes.
type replayOutput struct {
	OK         bool                 `json:"ok"`
	Package    string               `json:"package"`
	Registered []registeredWorkflow `json:"registered"`
	Runs       []replayedRun        `json:"runs"`
}

func replayCommand() *command {
	var (
		pkg, file, run, goBin string
		names                 stringList
		keep, asJSON          bool
	)
	return &command{
		name:    "replay",
		args:    "[ID]",
		minArgs: 0, maxArgs: 1,
		summary: "replay stored histories against the current workflow code",
		description: `
Check, before deploying, that the workflow code in the Go package --pkg
still agrees with the histories of existing runs: replay each run as a
worker would after a restart, and report where the code issues a
different command than the history records (a non-determinism error, which
names the event, what the history says and what the code did).

The histories come from --file (written by 'wfctl history --json', one run
or an array of runs) or, given an instance ID, from NATS: every run of the
instance, or --run.

wfctl does not contain your code, so it builds it: it finds the package's
workflow functions (top-level functions whose first parameter is
workflow.Context, from github.com/jetflow/jetflow/workflow), generates a
test that registers each under its function name and replays the
histories, and runs it with 'go test -overlay', so nothing is written into
your source tree. Packages main work too. --name Registered=Func registers
a function under another name (as worker.WithName does). Needs the go
command (--go), and runs in the module of --pkg.

Exit codes: 0 when every run replays, 1 when one does not (or the package
does not build).`,
		examples: []string{
			`wfctl history order-42 --all-runs --json > order-42.json`,
			`wfctl replay --pkg ./internal/orders --file order-42.json`,
			`wfctl replay --pkg ./cmd/worker order-42`,
			`wfctl replay --pkg . --name ProcessOrder=ProcessOrderV2 --file runs.json`,
		},
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&pkg, "pkg", ".", "Go `PKG` with the workflow code (path or import path)")
			fs.StringVar(&file, "file", "", "history `FILE` to replay (from 'wfctl history --json')")
			fs.StringVar(&run, "run", "", "with an instance ID: only this run's execution `ID`")
			fs.Var(&names, "name", "register function Func as workflow `Registered=Func`")
			fs.StringVar(&goBin, "go", "go", "the go `COMMAND`")
			fs.BoolVar(&keep, "keep", false, "keep the generated files (their folder is printed)")
			fs.BoolVar(&asJSON, "json", false, "write the report as JSON")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			switch {
			case file == "" && len(args) == 0:
				return usageErrorf("replay: give a history --file or an instance ID")
			case file != "" && len(args) > 0:
				return usageErrorf("replay: --file and an instance ID exclude each other")
			case run != "" && file != "":
				return usageErrorf("replay: --run goes with an instance ID, not --file")
			}
			if pkg == "" || strings.HasPrefix(pkg, "-") {
				return usageErrorf("replay: --pkg %q is not a package", pkg)
			}
			mappings, err := parseNameMappings(names)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "wfctl-replay-*")
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			if keep {
				fmt.Fprintf(a.stderr, "generated files kept in %s\n", tmp)
			} else {
				defer os.RemoveAll(tmp)
			}

			var histPath string
			if file != "" {
				if histPath, err = checkHistoryFile(file); err != nil {
					return err
				}
			} else {
				histPath = filepath.Join(tmp, "history.json")
				if err := saveInstanceHistory(ctx, a, args[0], run, histPath); err != nil {
					return err
				}
			}

			p, err := goList(ctx, goBin, pkg)
			if err != nil {
				return err
			}
			pf, err := scanPackage(p.Dir, append(p.GoFiles, p.CgoFiles...))
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			regs, err := registrations(pf, mappings, pkg)
			if err != nil {
				return err
			}
			src, err := generateReplayTest(p.Name, regs)
			if err != nil {
				return err
			}
			report, err := runReplayTest(ctx, a, goBin, pkg, p.Dir, tmp, src, histPath)
			if err != nil {
				return err
			}
			return printReplay(a, pkg, regs, report, asJSON)
		},
	}
}

// parseNameMappings reads the --name Registered=Func flags.
func parseNameMappings(names []string) (map[string]string, error) {
	m := map[string]string{}
	for _, n := range names {
		name, fn, ok := strings.Cut(n, "=")
		switch {
		case !ok || name == "" || fn == "":
			return nil, usageErrorf("replay: --name %q: want Registered=Func", n)
		case !token.IsIdentifier(fn):
			return nil, usageErrorf("replay: --name %q: %q is not a Go function name", n, fn)
		}
		if prev, dup := m[name]; dup && prev != fn {
			return nil, usageErrorf("replay: --name %s is given twice (%s and %s)", name, prev, fn)
		}
		m[name] = fn
	}
	return m, nil
}

// checkHistoryFile checks that a history file reads, and returns its
// absolute path (the test runs in the package's folder).
func checkHistoryFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageErrorf("replay: --file: %v", err)
		}
		return "", fmt.Errorf("replay: %w", err)
	}
	if _, err := worker.ParseHistoryFile(data); err != nil {
		return "", usageErrorf("replay: --file %s: %v", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	return abs, nil
}

// saveInstanceHistory reads the runs of an instance (or just run) from
// NATS and writes them as a history file.
func saveInstanceHistory(ctx context.Context, a *app, id, run, path string) error {
	runs := []string{run}
	if run == "" {
		var err error
		if runs, err = a.runsOf(ctx, id); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	var files []worker.HistoryFile
	for _, r := range runs {
		octx, cancel := a.opContext(ctx)
		h, err := c.GetWorkflowHistory(octx, &workflow.Instance{InstanceID: id, ExecutionID: r})
		cancel()
		if err != nil {
			return a.instanceError("replay: read history", id, err)
		}
		if len(h.Events) == 0 {
			continue // not picked up by a worker yet
		}
		files = append(files, worker.HistoryFile{InstanceID: id, ExecutionID: h.ExecutionID, Events: h.Events})
	}
	if len(files) == 0 {
		return fmt.Errorf("replay: instance %q has no history yet (no worker has run it)", id)
	}
	data, err := json.Marshal(files)
	if err != nil {
		return fmt.Errorf("replay: encode history: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// goPackage is what "go list" says about the package to replay with.
type goPackage struct {
	Dir        string
	ImportPath string
	Name       string
	GoFiles    []string
	CgoFiles   []string
}

// goList asks the go command about pkg, which must name one package.
func goList(ctx context.Context, goBin, pkg string) (*goPackage, error) {
	cmd := exec.CommandContext(ctx, goBin, "list", "-json=Dir,ImportPath,Name,GoFiles,CgoFiles", pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("replay: go list %s: %s", pkg, msg)
		}
		return nil, fmt.Errorf("replay: go list %s: %w", pkg, err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("replay: read go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	switch {
	case len(pkgs) == 0:
		return nil, fmt.Errorf("replay: --pkg %s matches no package", pkg)
	case len(pkgs) > 1:
		return nil, usageErrorf("replay: --pkg %s matches %d packages; give one", pkg, len(pkgs))
	}
	return &pkgs[0], nil
}

// runReplayTest runs the generated test in the package through an overlay
// and returns the report it wrote.
func runReplayTest(ctx context.Context, a *app, goBin, pkg, dir, tmp string, src []byte, histPath string) (*replayReport, error) {
	virtual := filepath.Join(dir, replayTestFile)
	if _, err := os.Stat(virtual); err == nil {
		return nil, fmt.Errorf("replay: %s exists; wfctl needs that name for its generated test", virtual)
	}
	gen := filepath.Join(tmp, replayTestFile)
	if err := os.WriteFile(gen, src, 0o600); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {virtual: gen}})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	overlayPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o600); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	reportPath := filepath.Join(tmp, "report.json")

	args := []string{"test", "-overlay", overlayPath, "-run", "^TestWfctlReplay$", "-count=1", "-vet=off", pkg}
	a.log.Debug("building the replay test", "command", goBin+" "+strings.Join(args, " "), "generated", gen)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Env = append(os.Environ(), "WFCTL_REPLAY_HISTORY="+histPath, "WFCTL_REPLAY_REPORT="+reportPath)
	out, runErr := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		output := strings.TrimSpace(string(out))
		if runErr != nil {
			return nil, fmt.Errorf("replay: go test %s failed (%v):\n%s", pkg, runErr, output)
		}
		return nil, fmt.Errorf("replay: the replay test did not run (does a TestMain of %s skip m.Run?):\n%s", pkg, output)
	}
	var report replayReport
	if err := json.Unmarshal(data, &report); err != nil {
		return nil, fmt.Errorf("replay: read the test's report: %w", err)
	}
	if report.Error != "" {
		return nil, fmt.Errorf("replay: %s", report.Error)
	}
	return &report, nil
}

// printReplay reports each run and returns an error (exit code 1) unless
// all replayed.
func printReplay(a *app, pkg string, regs []registration, report *replayReport, asJSON bool) error {
	explicit := map[string]bool{}
	for _, r := range regs {
		explicit[r.Name] = r.Explicit
	}
	for _, r := range report.Registered {
		switch {
		case r.Error != "" && explicit[r.Name]:
			return fmt.Errorf("replay: --name %s=%s: %s", r.Name, r.Func, r.Error)
		case r.Error != "":
			a.log.Info("skipped a function that is not a workflow", "func", r.Func, logkey.Err, r.Error)
		}
	}
	failed := 0
	for _, r := range report.Runs {
		if r.Error != "" {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(a.stdout, replayOutput{OK: failed == 0, Package: pkg, Registered: report.Registered, Runs: report.Runs}); err != nil {
			return err
		}
	} else {
		for _, r := range report.Runs {
			state := "OK  "
			if r.Error != "" {
				state = "FAIL"
			}
			fmt.Fprintf(a.stdout, "%s  instance %s, run %s (%s, %d events)\n", state, r.InstanceID, r.ExecutionID, r.Workflow, r.Events)
			if r.Error != "" {
				fmt.Fprintf(a.stdout, "      %s\n", r.Error)
				if r.UnknownWorkflow {
					fmt.Fprintf(a.stdout, "      (no function of %s is registered as %q: use --name %s=Func)\n", pkg, r.Workflow, r.Workflow)
				}
			}
		}
	}
	n := len(report.Runs)
	if failed > 0 {
		return fmt.Errorf("replayed %d run%s: %d failed", n, plural(n), failed)
	}
	if !asJSON {
		fmt.Fprintf(a.stdout, "replayed %d run%s: OK\n", n, plural(n))
	}
	return nil
}
