package jetflowvet

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/types/typeutil"
)

// Diagnostic categories, one per rule; docs/jetflowvet.md lists them.
const (
	ruleTime      = "time"
	ruleGoroutine = "goroutine"
	ruleSelect    = "select"
	ruleChannel   = "channel"
	ruleMapRange  = "maprange"
	ruleRand      = "rand"
	ruleOS        = "os"
	ruleNet       = "net"
	ruleSync      = "sync"
	ruleGlobal    = "global"
	ruleReflect   = "reflect"
	ruleActivity  = "activity"
	ruleDirective = "directive"
)

// summarize walks a function's body and records what it does that is not
// deterministic and the static calls it makes. Nested function literals are
// part of the body (they usually run in it), except workflow-shaped ones,
// which are analyzed as functions of their own, and the literals a
// SideEffect or an activity runs.
func (s *state) summarize(fi *funcInfo) {
	w := &walker{s: s, fi: fi, skip: map[*ast.FuncLit]bool{}}
	w.walk(fi.body)
}

type walker struct {
	s     *state
	fi    *funcInfo
	skip  map[*ast.FuncLit]bool
	stack []ast.Node
}

func (w *walker) walk(n ast.Node) {
	ast.Inspect(n, w.visit)
}

func (w *walker) add(f finding) {
	if w.s.suppressed(f.node.Pos()) {
		return
	}
	w.fi.findings = append(w.fi.findings, f)
}

func (w *walker) visit(n ast.Node) bool {
	if n == nil {
		w.stack = w.stack[:len(w.stack)-1]
		return true
	}
	if !w.check(n) {
		return false
	}
	w.stack = append(w.stack, n)
	return true
}

// check records what node n does and says whether to walk its children.
func (w *walker) check(n ast.Node) bool {
	info := w.s.pass.TypesInfo
	switch n := n.(type) {
	case *ast.FuncLit:
		if w.skip[n] {
			return false
		}
		sig, _ := info.TypeOf(n).(*types.Signature)
		if workflowShaped(sig) && n.Body != w.fi.body {
			return false // analyzed on its own
		}
	case *ast.GoStmt:
		w.add(finding{node: n, rule: ruleGoroutine, what: "go statement",
			advice: "start a workflow goroutine with workflow.Go(ctx, func(ctx workflow.Context) {...})"})
	case *ast.SelectStmt:
		w.add(finding{node: n, rule: ruleSelect, what: "select statement",
			advice: "use workflow.Select(ctx, workflow.Receive(...), workflow.Await(...), ...)"})
		// The clauses' channel operations are the select's; their bodies
		// are walked on their own.
		for _, c := range n.Body.List {
			w.stack = append(w.stack, c)
			for _, st := range c.(*ast.CommClause).Body {
				w.walk(st)
			}
			w.stack = w.stack[:len(w.stack)-1]
		}
		return false
	case *ast.SendStmt:
		if isChan(info.TypeOf(n.Chan)) {
			w.add(finding{node: n, rule: ruleChannel, what: "send on a Go channel",
				advice: "use a workflow.Channel (workflow.NewChannel) and its Send"})
		}
	case *ast.UnaryExpr:
		if n.Op == token.ARROW && isChan(info.TypeOf(n.X)) {
			w.add(finding{node: n, rule: ruleChannel, what: "receive from a Go channel",
				advice: "use a workflow.Channel (workflow.NewChannel) and its Receive"})
		}
	case *ast.RangeStmt:
		w.checkRange(n)
	case *ast.AssignStmt:
		if n.Tok != token.DEFINE {
			for _, lhs := range n.Lhs {
				w.checkWrite(lhs)
			}
		}
	case *ast.IncDecStmt:
		w.checkWrite(n.X)
	case *ast.CallExpr:
		for _, lit := range exemptLits(info, n) {
			w.skip[lit] = true
		}
		w.checkCall(n)
	case *ast.SelectorExpr:
		w.checkFuncValue(n)
	}
	return true
}

// checkFuncValue reports a non-deterministic package-level function taken
// as a value (clock := time.Now), which is called later out of sight.
func (w *walker) checkFuncValue(sel *ast.SelectorExpr) {
	info := w.s.pass.TypesInfo
	if _, isMethod := info.Selections[sel]; isMethod {
		return
	}
	fn, ok := info.Uses[sel.Sel].(*types.Func)
	if !ok || fn.Pkg() == nil {
		return
	}
	if len(w.stack) > 0 {
		if call, ok := w.stack[len(w.stack)-1].(*ast.CallExpr); ok && ast.Unparen(call.Fun) == sel {
			return // a call: checkCall's
		}
	}
	if what, rule, advice := callRule(fn); rule != "" {
		w.add(finding{node: sel, rule: rule, what: what + " taken as a function value", advice: advice})
	}
}

func isChan(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Chan)
	return ok
}

// checkRange reports ranging over a channel, over a map (unless the order
// cannot matter, see orderIndependent) and over the iterators of package
// maps.
func (w *walker) checkRange(r *ast.RangeStmt) {
	info := w.s.pass.TypesInfo
	t := info.TypeOf(r.X)
	if t == nil {
		return
	}
	switch t.Underlying().(type) {
	case *types.Chan:
		w.add(finding{node: r, rule: ruleChannel, what: "range over a Go channel",
			advice: "use a workflow.Channel and Receive in a loop"})
		return
	case *types.Map:
		if w.orderIndependent(r) {
			return
		}
		w.add(finding{node: r, rule: ruleMapRange, what: "range over a map (random order)",
			advice: "collect the keys, sort them (slices.Sort, sort.Strings, ...) and range over the sorted keys, or range over slices.Sorted(maps.Keys(m))"})
		return
	}
	if call, ok := ast.Unparen(r.X).(*ast.CallExpr); ok {
		fn := calleeFunc(info, call)
		if fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "maps" && recvOf(fn) == nil &&
			(fn.Name() == "Keys" || fn.Name() == "Values" || fn.Name() == "All") {
			w.add(finding{node: r, rule: ruleMapRange, what: "range over maps." + fn.Name() + " (random order)",
				advice: "range over slices.Sorted(maps.Keys(m)) instead"})
		}
	}
}

// checkWrite reports an assignment to a package-level variable, or to a
// field or element reached from one.
func (w *walker) checkWrite(lhs ast.Expr) {
	info := w.s.pass.TypesInfo
	e := lhs
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.Ident:
			if v := globalVar(info.Uses[x]); v != nil {
				w.addGlobal(lhs, v)
			}
			return
		case *ast.SelectorExpr:
			if v := globalVar(info.Uses[x.Sel]); v != nil && info.Selections[x] == nil {
				w.addGlobal(lhs, v) // pkg.Var
				return
			}
			if _, ok := info.Selections[x]; !ok {
				return
			}
			if _, isPtr := underlying(info.TypeOf(x.X)).(*types.Pointer); isPtr {
				// Through a pointer the write reaches a global only if
				// the pointer is one itself.
				if id, ok := ast.Unparen(x.X).(*ast.Ident); ok {
					if v := globalVar(info.Uses[id]); v != nil {
						w.addGlobal(lhs, v)
					}
				}
				return
			}
			e = x.X
		case *ast.IndexExpr:
			switch underlying(info.TypeOf(x.X)).(type) {
			case *types.Array:
				e = x.X // an array element is part of the variable
			default:
				// A map or slice element: shared with the variable it was
				// read from if that is a global.
				if id, ok := ast.Unparen(x.X).(*ast.Ident); ok {
					if v := globalVar(info.Uses[id]); v != nil {
						w.addGlobal(lhs, v)
					}
				} else if sel, ok := ast.Unparen(x.X).(*ast.SelectorExpr); ok {
					if v := globalVar(info.Uses[sel.Sel]); v != nil && info.Selections[sel] == nil {
						w.addGlobal(lhs, v)
					}
				}
				return
			}
		case *ast.StarExpr:
			if id, ok := ast.Unparen(x.X).(*ast.Ident); ok {
				if v := globalVar(info.Uses[id]); v != nil {
					w.addGlobal(lhs, v)
				}
			}
			return
		default:
			return
		}
	}
}

// underlying is t.Underlying(), or nil for a nil type.
func underlying(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

func globalVar(o types.Object) *types.Var {
	v, ok := o.(*types.Var)
	if !ok || v.IsField() || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
		return nil
	}
	return v
}

func (w *walker) addGlobal(lhs ast.Expr, v *types.Var) {
	name := v.Name()
	if v.Pkg() != w.s.pass.Pkg {
		name = v.Pkg().Name() + "." + name
	}
	w.add(finding{node: lhs, rule: ruleGlobal, what: "write to package variable " + name,
		advice: "keep workflow state in local variables; a global is shared by every run and replay"})
}

// checkCall reports a call of a non-deterministic function and records the
// static calls to follow.
func (w *walker) checkCall(call *ast.CallExpr) {
	info := w.s.pass.TypesInfo
	fn := calleeFunc(info, call)
	if fn == nil || fn.Pkg() == nil {
		return
	}
	if what, rule, advice := callRule(fn); rule != "" {
		w.add(finding{node: call, rule: rule, what: what, advice: advice, call: call, callee: fn})
		return
	}
	if w.s.isActivity(fn) {
		w.add(finding{node: call, rule: ruleActivity, what: "activity " + funcName(fn) + " called as a function",
			advice: "run it with workflow.ExecuteActivity(ctx, opts, " + fn.Name() + ", ...)"})
		return
	}
	static := typeutil.StaticCallee(info, call)
	if static == nil {
		return // an interface method or a function value: not followed
	}
	static = static.Origin()
	if workflowShaped(static.Type().(*types.Signature)) || w.s.roots[static] {
		return // workflow code of its own: checked where it is declared
	}
	if w.s.suppressed(call.Pos()) {
		return
	}
	w.fi.calls = append(w.fi.calls, callSite{call: call, callee: static})
}

// callRule says whether calling fn is non-deterministic: what it is, its
// rule and what to use instead; rule is empty when it is fine.
func callRule(fn *types.Func) (what, rule, advice string) {
	path, name := fn.Pkg().Path(), fn.Name()
	recv := recvOf(fn)
	what = funcName(fn)
	switch path {
	case "time":
		if recv != nil {
			return "", "", ""
		}
		switch name {
		case "Now":
			return what, ruleTime, "use workflow.Now(ctx)"
		case "Since":
			return what, ruleTime, "use workflow.Now(ctx).Sub(t)"
		case "Until":
			return what, ruleTime, "use t.Sub(workflow.Now(ctx))"
		case "Sleep":
			return what, ruleTime, "use workflow.Sleep(ctx, d)"
		case "After", "NewTimer", "AfterFunc":
			return what, ruleTime, "use workflow.ScheduleTimer(ctx, d) (a durable timer)"
		case "Tick", "NewTicker":
			return what, ruleTime, "use workflow.Sleep(ctx, d) or workflow.ScheduleTimer(ctx, d) in a loop"
		}
	case "math/rand", "math/rand/v2":
		// A generator the workflow seeds itself is deterministic; the
		// package-level functions use a random seed.
		if recv == nil && !strings.HasPrefix(name, "New") {
			return what, ruleRand, "draw random numbers in workflow.SideEffect(ctx, func(ctx workflow.Context) T {...}) or an activity"
		}
	case "crypto/rand":
		return what, ruleRand, "draw random bytes in workflow.SideEffect or an activity"
	case "github.com/google/uuid":
		switch name {
		case "New", "NewString", "NewRandom", "NewRandomFromReader", "NewUUID", "NewV6", "NewV7":
			if recv == nil {
				return what, ruleRand, "make the ID in workflow.SideEffect or an activity, or derive it from workflow.GetInfo(ctx)"
			}
		}
	case "os", "os/exec":
		if recv == nil && strings.HasPrefix(name, "Is") {
			return "", "", "" // os.IsNotExist and friends look at an error
		}
		return what, ruleOS, "do I/O and read the environment in an activity (workflow.ExecuteActivity)"
	case "net":
		if netIO(fn) {
			return what, ruleNet, "do network I/O in an activity (workflow.ExecuteActivity)"
		}
	case "net/http":
		if recv == nil && (name == "StatusText" || name == "CanonicalHeaderKey" || strings.HasPrefix(name, "NewRequest")) {
			return "", "", ""
		}
		if recv != nil && isNamed(recv.Type(), "net/http", "Header") {
			return "", "", ""
		}
		return what, ruleNet, "do network I/O in an activity (workflow.ExecuteActivity)"
	case "sync":
		return what, ruleSync, "workflow goroutines take turns, so no lock is needed; wait with workflow.NewWaitGroup, workflow.NewChannel or workflow.AwaitCondition"
	case "sync/atomic":
		return what, ruleSync, "workflow goroutines take turns: use a plain variable"
	case "reflect":
		if recv != nil && (name == "MapKeys" || name == "MapRange") {
			return what, ruleReflect, "sort the keys before using them (MapKeys and MapRange have a random order)"
		}
	}
	return "", "", ""
}

// netIO says whether a function or method of package net does I/O or reads
// the host's state (parsing and formatting addresses do not).
func netIO(fn *types.Func) bool {
	name := fn.Name()
	for _, p := range []string{"Dial", "Listen", "Lookup", "Resolve", "Interface", "File", "Pipe"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	if recv := recvOf(fn); recv != nil {
		t := recv.Type()
		if p, ok := types.Unalias(t).(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			tn := n.Obj().Name()
			return strings.HasSuffix(tn, "Conn") || strings.HasSuffix(tn, "Listener") ||
				tn == "Resolver" || tn == "Dialer" || tn == "ListenConfig"
		}
		if _, ok := recv.Type().Underlying().(*types.Interface); ok {
			return true // net.Conn, net.Listener, net.PacketConn methods
		}
	}
	return false
}
