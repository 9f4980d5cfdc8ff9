package jetflowvet

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer reports non-deterministic code in jetflow workflow functions.
var Analyzer = &analysis.Analyzer{
	Name:      "jetflowvet",
	Doc:       doc,
	URL:       "https://github.com/jetflow/jetflow/blob/main/docs/jetflowvet.md",
	Run:       run,
	FactTypes: []analysis.Fact{new(NonDeterministic), new(ActivityFunc)},
}

const doc = `report non-deterministic code in jetflow workflow functions

A jetflow workflow is replayed from its history, so it must do the same
thing every time it runs. jetflowvet finds workflow functions (a first
parameter of type workflow.Context, or a function registered or started as a
workflow) and reports what replays differently: the clock, goroutines,
select and native channels, map iteration, random numbers, files, the
network, sync primitives, global variable writes, reflection over maps and
activities called as plain functions. It follows static calls into helpers
of the analyzed module, across packages, and reports the call with the
chain that leads to the cause.

A finding is silenced by "//jetflowvet:ignore <reason>" on its line or the
line before.`

// NonDeterministic is the fact exported for a function that does something
// non-deterministic itself or through the functions it calls.
type NonDeterministic struct {
	Chain  []string // the callees from this function to the cause, the cause last
	Rule   string   // the rule the cause breaks (a diagnostic category)
	Advice string   // what to use instead
}

// AFact marks NonDeterministic as an analysis fact.
func (*NonDeterministic) AFact() {}

func (f *NonDeterministic) String() string {
	return "nondeterministic(" + strings.Join(f.Chain, " → ") + ")"
}

// ActivityFunc is the fact exported for a function registered or executed as
// an activity, so that a workflow in another package calling it directly is
// reported.
type ActivityFunc struct{}

// AFact marks ActivityFunc as an analysis fact.
func (*ActivityFunc) AFact() {}

func (*ActivityFunc) String() string { return "activity" }

// New returns the analyzers for a golangci-lint plugin. conf is the
// plugin's settings from .golangci.yml; jetflowvet has none and ignores it.
func New(conf any) ([]*analysis.Analyzer, error) {
	return []*analysis.Analyzer{Analyzer}, nil
}

// Import paths of the jetflow packages whose names the analyzer knows.
const (
	modulePath  = "github.com/jetflow/jetflow"
	workflowPkg = modulePath + "/workflow"
	workerPkg   = modulePath + "/worker"
	testerPkg   = modulePath + "/tester"
	clientPkg   = modulePath + "/client"
)

// funcInfo is one function the analyzer looks into.
type funcInfo struct {
	obj      *types.Func // nil for a function literal
	body     *ast.BlockStmt
	file     *ast.File
	ctxParam *types.Var // the workflow.Context parameter, if any
	workflow bool       // workflow code: its findings are reported

	findings []finding  // what it does itself, suppressed ones left out
	calls    []callSite // static calls it makes
}

// callSite is a static call from an analyzed function.
type callSite struct {
	call   *ast.CallExpr
	callee *types.Func
}

// finding is one non-deterministic operation.
type finding struct {
	node   ast.Node
	rule   string // diagnostic category: time, goroutine, select, channel, ...
	what   string // the operation, e.g. "time.Now"
	advice string // what to use instead
	call   *ast.CallExpr
	callee *types.Func // for a call finding
}

// cause is why a function of this package is non-deterministic.
type cause struct {
	chain  []string
	rule   string
	advice string
}

type state struct {
	pass       *analysis.Pass
	library    bool // a package of the jetflow module itself: only its test files are user code
	directives map[*token.File]map[int]directive
	funcs      []*funcInfo
	byObj      map[*types.Func]*funcInfo
	roots      map[*types.Func]bool // registered or started as workflows
	activities map[*types.Func]bool
	causes     map[*types.Func]*cause
}

func run(pass *analysis.Pass) (any, error) {
	if !userPackage(pass) {
		return nil, nil
	}
	s := &state{
		pass:       pass,
		library:    jetflowLibrary(pass.Pkg.Path()),
		directives: map[*token.File]map[int]directive{},
		byObj:      map[*types.Func]*funcInfo{},
		roots:      map[*types.Func]bool{},
		activities: map[*types.Func]bool{},
		causes:     map[*types.Func]*cause{},
	}
	var files []*ast.File
	for _, f := range pass.Files {
		if s.library && !strings.HasSuffix(pass.Fset.File(f.Pos()).Name(), "_test.go") {
			continue
		}
		files = append(files, f)
		s.readDirectives(f)
	}
	for _, f := range files {
		s.findRegistrations(f)
	}
	for _, f := range files {
		s.collectFuncs(f)
	}
	for _, fi := range s.funcs {
		s.summarize(fi)
	}
	s.propagate()
	s.exportFacts()
	for _, fi := range s.funcs {
		if fi.workflow {
			s.report(fi)
		}
	}
	return nil, nil
}

// userPackage says whether the package is code the analyzer looks into:
// packages of the main and workspace modules and of modules replaced by a
// local directory, not the standard library and not versioned
// dependencies. analysistest's GOPATH mode gives no module; there a path
// whose first element has a dot is user code.
func userPackage(pass *analysis.Pass) bool {
	if m := pass.Module; m != nil && m.Path != "" {
		switch {
		case m.Version == "":
			return true
		case m.Replace != nil:
			return m.Replace.Version == ""
		}
		// go vet before Go 1.27 does not say whether a module is
		// replaced: a versioned module whose files are neither in the
		// module cache (module@version/...) nor vendored is a local one.
		if len(pass.Files) == 0 {
			return false
		}
		name := filepath.ToSlash(pass.Fset.File(pass.Files[0].Pos()).Name())
		return !strings.Contains(name, "@") && !strings.Contains(name, "/vendor/")
	}
	first, _, _ := strings.Cut(pass.Pkg.Path(), "/")
	return strings.Contains(first, ".")
}

// jetflowLibrary says whether path is a package of jetflow's own
// implementation (the workflow runtime, worker, client...), as opposed to
// its examples, end-to-end tests and test data.
func jetflowLibrary(path string) bool {
	if path != modulePath && !strings.HasPrefix(path, modulePath+"/") {
		return false
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, modulePath), "/")
	first, _, _ := strings.Cut(rest, "/")
	switch first {
	case "examples", "e2e", "faults":
		return false
	}
	return !strings.Contains("/"+rest+"/", "/testdata/")
}

// isWorkflowContext says whether t is workflow.Context.
func isWorkflowContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	o := n.Obj()
	return o.Name() == "Context" && o.Pkg() != nil && o.Pkg().Path() == workflowPkg
}

// isStdContext says whether t is context.Context.
func isStdContext(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	o := n.Obj()
	return o.Name() == "Context" && o.Pkg() != nil && o.Pkg().Path() == "context"
}

// firstParam returns the first parameter of sig, or nil.
func firstParam(sig *types.Signature) *types.Var {
	if sig == nil || sig.Params().Len() == 0 {
		return nil
	}
	return sig.Params().At(0)
}

// workflowShaped says whether a function of signature sig is workflow code
// by its shape: a first parameter of type workflow.Context.
func workflowShaped(sig *types.Signature) bool {
	p := firstParam(sig)
	return p != nil && isWorkflowContext(p.Type())
}

// funcOf returns the function an expression names: a function, a method
// value or a method expression; nil for anything else.
func funcOf(info *types.Info, e ast.Expr) *types.Func {
	e = ast.Unparen(e)
	switch e := e.(type) {
	case *ast.Ident:
		fn, _ := info.Uses[e].(*types.Func)
		return origin(fn)
	case *ast.SelectorExpr:
		if sel, ok := info.Selections[e]; ok {
			fn, _ := sel.Obj().(*types.Func)
			return origin(fn)
		}
		fn, _ := info.Uses[e.Sel].(*types.Func)
		return origin(fn)
	case *ast.IndexExpr: // an instantiated generic function
		return funcOf(info, e.X)
	case *ast.IndexListExpr:
		return funcOf(info, e.X)
	}
	return nil
}

func origin(fn *types.Func) *types.Func {
	if fn == nil {
		return nil
	}
	return fn.Origin()
}

// isPkgFunc says whether fn is the package-level function path.name.
func isPkgFunc(fn *types.Func, path, name string) bool {
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == path && fn.Name() == name && recvOf(fn) == nil
}

// isMethodIn says whether fn is a method named name of a type declared in
// package path.
func isMethodIn(fn *types.Func, path, name string) bool {
	return fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == path && fn.Name() == name && recvOf(fn) != nil
}

func recvOf(fn *types.Func) *types.Var {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil {
		return nil
	}
	return sig.Recv()
}

// findRegistrations records the functions a file registers or starts as
// workflows, and the functions it registers or executes as activities.
func (s *state) findRegistrations(f *ast.File) {
	info := s.pass.TypesInfo
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			fn := calleeFunc(info, n)
			arg := func(i int) ast.Expr {
				if i < len(n.Args) {
					return n.Args[i]
				}
				return nil
			}
			switch {
			case isMethodIn(fn, workerPkg, "RegisterWorkflow"), isMethodIn(fn, testerPkg, "RegisterWorkflow"),
				isPkgFunc(fn, testerPkg, "NewWorkflowTester"):
				s.markWorkflow(arg(0))
			case isPkgFunc(fn, workflowPkg, "CreateSubWorkflowInstance"),
				isMethodIn(fn, clientPkg, "CreateWorkflowInstance"), isMethodIn(fn, clientPkg, "SignalWithStartWorkflow"):
				s.markWorkflow(arg(2))
			case isMethodIn(fn, workerPkg, "RegisterActivity"), isMethodIn(fn, testerPkg, "RegisterActivity"):
				s.markActivity(arg(0), true)
			case isPkgFunc(fn, workflowPkg, "ExecuteActivity"), isPkgFunc(fn, workflowPkg, "ExecuteLocalActivity"):
				s.markActivity(arg(2), false)
			}
		case *ast.CompositeLit:
			if !isNamed(info.TypeOf(n), clientPkg, "ScheduleOptions") {
				return true
			}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Workflow" {
						s.markWorkflow(kv.Value)
					}
				}
			}
		}
		return true
	})
}

func isNamed(t types.Type, path, name string) bool {
	if t == nil {
		return false
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

// markWorkflow records the function e names as workflow code when it is
// declared in this package; a function of another package is workflow code
// there by its workflow.Context parameter.
func (s *state) markWorkflow(e ast.Expr) {
	if e == nil {
		return
	}
	if fn := funcOf(s.pass.TypesInfo, e); fn != nil && fn.Pkg() == s.pass.Pkg {
		s.roots[fn] = true
	}
}

// markActivity records the activity e names. A registered value that is not
// a function (a struct or a pointer to one) registers its exported methods
// whose first parameter is a context.Context. An executed function counts
// only if its first parameter is a context.Context, so that a workflow name
// given by mistake is not taken for an activity.
func (s *state) markActivity(e ast.Expr, registered bool) {
	if e == nil {
		return
	}
	info := s.pass.TypesInfo
	if fn := funcOf(info, e); fn != nil {
		sig, _ := fn.Type().(*types.Signature)
		if p := firstParam(sig); registered || (p != nil && isStdContext(p.Type())) {
			s.activities[fn] = true
		}
		return
	}
	if !registered {
		return
	}
	t := info.TypeOf(e)
	if t == nil {
		return
	}
	ms := types.NewMethodSet(t)
	for i := range ms.Len() {
		fn, ok := ms.At(i).Obj().(*types.Func)
		if !ok || !fn.Exported() {
			continue
		}
		sig, _ := fn.Type().(*types.Signature)
		if p := firstParam(sig); p != nil && isStdContext(p.Type()) {
			s.activities[fn.Origin()] = true
		}
	}
}

// collectFuncs records the file's function declarations and the function
// literals that are workflow code by their shape.
func (s *state) collectFuncs(f *ast.File) {
	info := s.pass.TypesInfo
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		obj, _ := info.Defs[fd.Name].(*types.Func)
		if obj == nil {
			continue
		}
		sig := obj.Type().(*types.Signature)
		fi := &funcInfo{obj: obj, body: fd.Body, file: f}
		if workflowShaped(sig) {
			fi.workflow = true
			fi.ctxParam = firstParam(sig)
		}
		if s.roots[obj] {
			fi.workflow = true
		}
		s.funcs = append(s.funcs, fi)
		s.byObj[obj] = fi
	}
	// Function literals of the workflow shape are workflow code wherever
	// they appear, except as the function of a SideEffect, which runs once
	// and is recorded.
	exempt := map[*ast.FuncLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			for _, lit := range exemptLits(info, n) {
				exempt[lit] = true
			}
		case *ast.FuncLit:
			if exempt[n] {
				return false
			}
			sig, _ := info.TypeOf(n).(*types.Signature)
			if workflowShaped(sig) {
				s.funcs = append(s.funcs, &funcInfo{body: n.Body, file: f, workflow: true, ctxParam: firstParam(sig)})
			}
		}
		return true
	})
}

// exemptLits returns the function literals of call that are not workflow
// code: the function of workflow.SideEffect, a query handler (it reads the
// state and records nothing, so it cannot change a replay), and activities
// (also local ones) given as literals.
func exemptLits(info *types.Info, call *ast.CallExpr) []*ast.FuncLit {
	fn := calleeFunc(info, call)
	var idx int
	switch {
	case isPkgFunc(fn, workflowPkg, "SideEffect"):
		idx = 1
	case isPkgFunc(fn, workflowPkg, "SetQueryHandler"):
		idx = 2
	case isPkgFunc(fn, workflowPkg, "ExecuteActivity"), isPkgFunc(fn, workflowPkg, "ExecuteLocalActivity"):
		idx = 2
	case isMethodIn(fn, workerPkg, "RegisterActivity"), isMethodIn(fn, testerPkg, "RegisterActivity"):
		idx = 0
	default:
		return nil
	}
	if idx >= len(call.Args) {
		return nil
	}
	if lit, ok := ast.Unparen(call.Args[idx]).(*ast.FuncLit); ok {
		return []*ast.FuncLit{lit}
	}
	return nil
}

// propagate works out, to a fixed point, which functions of this package
// are non-deterministic through the calls they make.
func (s *state) propagate() {
	// Workflow functions get no cause: they are reported themselves, and
	// calls of them are not followed.
	for _, fi := range s.funcs {
		if fi.obj == nil || fi.workflow || len(fi.findings) == 0 {
			continue
		}
		f := fi.findings[0]
		s.causes[fi.obj] = &cause{chain: []string{f.what}, rule: f.rule, advice: f.advice}
	}
	for changed := true; changed; {
		changed = false
		for _, fi := range s.funcs {
			if fi.obj == nil || fi.workflow || s.causes[fi.obj] != nil {
				continue
			}
			for _, c := range fi.calls {
				if cs := s.calleeCause(c.callee); cs != nil {
					s.causes[fi.obj] = &cause{chain: append([]string{funcName(c.callee)}, cs.chain...), rule: cs.rule, advice: cs.advice}
					changed = true
					break
				}
			}
		}
	}
}

// calleeCause returns why a callee is non-deterministic, from this
// package's analysis or from the fact its own package exported; nil when
// it is not known to be.
func (s *state) calleeCause(fn *types.Func) *cause {
	if fn.Pkg() == s.pass.Pkg {
		return s.causes[fn]
	}
	var f NonDeterministic
	if s.pass.ImportObjectFact(fn, &f) {
		return &cause{chain: f.Chain, rule: f.Rule, advice: f.Advice}
	}
	return nil
}

func (s *state) exportFacts() {
	objs := make([]*types.Func, 0, len(s.causes))
	for fn := range s.causes {
		objs = append(objs, fn)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Pos() < objs[j].Pos() })
	for _, fn := range objs {
		c := s.causes[fn]
		s.pass.ExportObjectFact(fn, &NonDeterministic{Chain: c.chain, Rule: c.rule, Advice: c.advice})
	}
	for fn := range s.activities {
		if fn.Pkg() == s.pass.Pkg {
			s.pass.ExportObjectFact(fn, &ActivityFunc{})
		}
	}
}

// isActivity says whether fn is known as an activity here or by its fact.
func (s *state) isActivity(fn *types.Func) bool {
	if s.activities[fn] {
		return true
	}
	if fn.Pkg() != s.pass.Pkg {
		return s.pass.ImportObjectFact(fn, new(ActivityFunc))
	}
	return false
}

// funcName names fn as package.Func or package.Type.Method.
func funcName(fn *types.Func) string {
	name := fn.Name()
	if recv := recvOf(fn); recv != nil {
		t := recv.Type()
		if p, ok := types.Unalias(t).(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			name = n.Obj().Name() + "." + name
		}
	}
	if fn.Pkg() != nil {
		name = fn.Pkg().Name() + "." + name
	}
	return name
}

// report reports the findings of a workflow function and its calls of
// non-deterministic functions.
func (s *state) report(fi *funcInfo) {
	for _, f := range fi.findings {
		d := analysis.Diagnostic{
			Pos:      f.node.Pos(),
			End:      f.node.End(),
			Category: f.rule,
			Message:  f.what + " in workflow code: " + f.advice,
		}
		if f.call != nil {
			d.SuggestedFixes = s.suggestFix(fi, f)
		}
		s.pass.Report(d)
	}
	for _, c := range fi.calls {
		cs := s.calleeCause(c.callee)
		if cs == nil || s.suppressed(c.call.Pos()) {
			continue
		}
		chain := append([]string{funcName(c.callee)}, cs.chain...)
		s.pass.Report(analysis.Diagnostic{
			Pos:      c.call.Pos(),
			End:      c.call.End(),
			Category: cs.rule,
			Message:  "calls " + strings.Join(chain, " → ") + ", not deterministic in workflow code: " + cs.advice,
		})
	}
}

// calleeFunc returns the function or method a call calls, an interface
// method included; nil for a builtin, a conversion or a function value.
func calleeFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fn, _ := typeutil.Callee(info, call).(*types.Func)
	return origin(fn)
}
