package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// workflowImportPath is the package whose Context marks a workflow
// function.
const workflowImportPath = "github.com/jetflow/jetflow/workflow"

// packageFuncs is what "wfctl replay" learns from a package's source.
type packageFuncs struct {
	// Workflows are the top-level functions shaped like workflows: first
	// parameter workflow.Context, results error or (T, error).
	Workflows []string
	// All holds every top-level function that can be referred to by name
	// (no methods, no generic functions, no init).
	All map[string]bool
}

// scanPackage parses the files of a package (names relative to dir) and
// finds its workflow functions.
func scanPackage(dir string, files []string) (*packageFuncs, error) {
	fset := token.NewFileSet()
	out := &packageFuncs{All: map[string]bool{}}
	for _, name := range files {
		path := filepath.Join(dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		names, dot := workflowImportNames(f)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Type.TypeParams != nil || fd.Name.Name == "init" || fd.Name.Name == "_" {
				continue
			}
			out.All[fd.Name.Name] = true
			if isWorkflowFunc(fd.Type, names, dot) {
				out.Workflows = append(out.Workflows, fd.Name.Name)
			}
		}
	}
	slices.Sort(out.Workflows)
	return out, nil
}

// workflowImportNames returns the names under which a file imports the
// workflow package, and whether it dot-imports it.
func workflowImportNames(f *ast.File) (names map[string]bool, dot bool) {
	names = map[string]bool{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil || path != workflowImportPath {
			continue
		}
		switch {
		case imp.Name == nil:
			names["workflow"] = true
		case imp.Name.Name == ".":
			dot = true
		case imp.Name.Name != "_":
			names[imp.Name.Name] = true
		}
	}
	return names, dot
}

// isWorkflowFunc reports whether a function type is
// func(workflow.Context, ...) error or (T, error), with the workflow
// package imported under one of names (or dot-imported).
func isWorkflowFunc(ft *ast.FuncType, names map[string]bool, dot bool) bool {
	if ft.Params == nil || len(ft.Params.List) == 0 || ft.Results == nil {
		return false
	}
	if !isWorkflowContext(ft.Params.List[0].Type, names, dot) {
		return false
	}
	results := 0
	for _, r := range ft.Results.List {
		results += max(1, len(r.Names))
	}
	last := ft.Results.List[len(ft.Results.List)-1].Type
	id, ok := last.(*ast.Ident)
	return (results == 1 || results == 2) && ok && id.Name == "error"
}

// isWorkflowContext reports whether expr is workflow.Context.
func isWorkflowContext(expr ast.Expr, names map[string]bool, dot bool) bool {
	switch t := expr.(type) {
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		return ok && names[pkg.Name] && t.Sel.Name == "Context"
	case *ast.Ident:
		return dot && t.Name == "Context"
	}
	return false
}

// registration is one workflow the generated test registers: the function
// Func under the name Name.
type registration struct {
	Name string
	Func string
	// Explicit is set for a --name mapping: failing to register it is an
	// error, where a function found by its shape is skipped.
	Explicit bool
}

// registrations decides what to register: every exported workflow function
// under its own name, and each --name mapping (which takes the name over
// from a function of that name).
func registrations(pf *packageFuncs, mappings map[string]string, pkg string) ([]registration, error) {
	regs := map[string]registration{}
	for _, fn := range pf.Workflows {
		if token.IsExported(fn) {
			regs[fn] = registration{Name: fn, Func: fn}
		}
	}
	for name, fn := range mappings {
		if !pf.All[fn] {
			return nil, usageErrorf("replay: --name %s=%s: package %s has no top-level function %s (workflow functions found: %s)",
				name, fn, pkg, fn, listOrNone(pf.Workflows))
		}
		regs[name] = registration{Name: name, Func: fn, Explicit: true}
	}
	if len(regs) == 0 {
		return nil, fmt.Errorf("replay: package %s has no exported workflow functions (func(workflow.Context, ...) error or (T, error)); "+
			"--name NAME=Func registers others", pkg)
	}
	out := make([]registration, 0, len(regs))
	for _, name := range slices.Sorted(maps.Keys(regs)) {
		out = append(out, regs[name])
	}
	return out, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// generateReplayTest writes the test file that registers the workflows and
// replays the history file named by $WFCTL_REPLAY_HISTORY, writing a report
// to $WFCTL_REPLAY_REPORT. Every name it declares at file scope starts with
// "wfctl" (or is TestWfctlReplay), so it does not clash with the package's
// own names.
func generateReplayTest(pkgName string, regs []registration) ([]byte, error) {
	var buf bytes.Buffer
	if err := replayTestTemplate.Execute(&buf, struct {
		Package       string
		Registrations []registration
	}{pkgName, regs}); err != nil {
		return nil, fmt.Errorf("generate replay test: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("generate replay test: %w", err)
	}
	return src, nil
}

// replayReport is what the generated test writes.
type replayReport struct {
	Registered []registeredWorkflow `json:"registered"`
	Runs       []replayedRun        `json:"runs"`
	// Error is set when the history could not be read.
	Error string `json:"error,omitempty"`
}

// registeredWorkflow is one registration and how it went.
type registeredWorkflow struct {
	Name  string `json:"name"`
	Func  string `json:"func"`
	Error string `json:"error,omitempty"`
}

// replayedRun is one run replayed and how it went.
type replayedRun struct {
	InstanceID  string `json:"instance_id"`
	ExecutionID string `json:"execution_id"`
	Workflow    string `json:"workflow"`
	Events      int    `json:"events"`
	// Error is why the replay failed; Nondeterministic is set when the
	// code disagrees with the history, UnknownWorkflow when the run's
	// workflow is not registered.
	Error            string `json:"error,omitempty"`
	Nondeterministic bool   `json:"nondeterministic,omitempty"`
	UnknownWorkflow  bool   `json:"unknown_workflow,omitempty"`
}

var replayTestTemplate = template.Must(template.New("replay").Parse(`// Code generated by wfctl replay; DO NOT EDIT.

package {{.Package}}

import (
	wfctlerrors "errors"
	wfctljson "encoding/json"
	wfctlos "os"
	wfctltesting "testing"

	wfctlengine "github.com/jetflow/jetflow/engine"
	wfctlworker "github.com/jetflow/jetflow/worker"
)

func TestWfctlReplay(wfctlT *wfctltesting.T) {
	type wfctlRegistered struct {
		Name  string ` + "`json:\"name\"`" + `
		Func  string ` + "`json:\"func\"`" + `
		Error string ` + "`json:\"error,omitempty\"`" + `
	}
	type wfctlRun struct {
		InstanceID       string ` + "`json:\"instance_id\"`" + `
		ExecutionID      string ` + "`json:\"execution_id\"`" + `
		Workflow         string ` + "`json:\"workflow\"`" + `
		Events           int    ` + "`json:\"events\"`" + `
		Error            string ` + "`json:\"error,omitempty\"`" + `
		Nondeterministic bool   ` + "`json:\"nondeterministic,omitempty\"`" + `
		UnknownWorkflow  bool   ` + "`json:\"unknown_workflow,omitempty\"`" + `
	}
	var wfctlReport struct {
		Registered []wfctlRegistered ` + "`json:\"registered\"`" + `
		Runs       []wfctlRun        ` + "`json:\"runs\"`" + `
		Error      string            ` + "`json:\"error,omitempty\"`" + `
	}
	defer func() {
		data, err := wfctljson.Marshal(&wfctlReport)
		if err != nil {
			wfctlT.Fatal(err)
		}
		if err := wfctlos.WriteFile(wfctlos.Getenv("WFCTL_REPLAY_REPORT"), data, 0o600); err != nil {
			wfctlT.Fatal(err)
		}
	}()

	wfctlReplayer := wfctlworker.NewReplayer(nil)
	wfctlRegister := func(name, fn string, wf any) {
		reg := wfctlRegistered{Name: name, Func: fn}
		if err := wfctlReplayer.RegisterWorkflow(wf, wfctlworker.WithName(name)); err != nil {
			reg.Error = err.Error()
		}
		wfctlReport.Registered = append(wfctlReport.Registered, reg)
	}
{{range .Registrations}}	wfctlRegister({{printf "%q" .Name}}, {{printf "%q" .Func}}, {{.Func}})
{{end}}
	wfctlData, wfctlErr := wfctlos.ReadFile(wfctlos.Getenv("WFCTL_REPLAY_HISTORY"))
	if wfctlErr != nil {
		wfctlReport.Error = wfctlErr.Error()
		return
	}
	wfctlRuns, wfctlErr := wfctlworker.ParseHistoryFile(wfctlData)
	if wfctlErr != nil {
		wfctlReport.Error = wfctlErr.Error()
		return
	}
	for _, h := range wfctlRuns {
		run := wfctlRun{InstanceID: h.InstanceID, ExecutionID: h.ExecutionID, Events: len(h.Events)}
		if len(h.Events) > 0 {
			run.Workflow = h.Events[0].Name
		}
		if err := wfctlReplayer.Replay(h.InstanceID, h.ExecutionID, h.Events); err != nil {
			run.Error = err.Error()
			var nd *wfctlengine.NondeterminismError
			run.Nondeterministic = wfctlerrors.As(err, &nd)
			run.UnknownWorkflow = wfctlerrors.Is(err, wfctlengine.ErrUnknownWorkflow)
		}
		wfctlReport.Runs = append(wfctlReport.Runs, run)
	}
}
`))
