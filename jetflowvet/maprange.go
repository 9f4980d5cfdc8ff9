package jetflowvet

import (
	"go/ast"
	"go/token"
	"go/types"
)

// orderIndependent says whether the order in which a range over a map
// visits its entries cannot change what the workflow does. Recognised:
//
//   - the body only collects into one slice (s = append(s, ...), or
//     s[i] = ... and i++), and the next statement of the enclosing block
//     that uses that slice sorts it (sort.Strings,
//     sort.Ints, sort.Float64s, sort.Slice, sort.SliceStable, sort.Sort,
//     sort.Stable, slices.Sort, slices.SortFunc, slices.SortStableFunc);
//   - every statement of the body is order-independent by itself: a write
//     to another map at the range's key (m2[k] = v), a delete, or integer
//     arithmetic (n++, n += v), which gives the same total in any order;
//   - an empty body.
func (w *walker) orderIndependent(r *ast.RangeStmt) bool {
	if len(r.Body.List) == 0 {
		return true
	}
	if s := w.collectedSlice(r); s != nil {
		return w.sortedAfter(r, s)
	}
	for _, st := range r.Body.List {
		if !w.commutative(r, st) {
			return false
		}
	}
	return true
}

// collectedSlice returns the slice variable the range's body collects
// into when that is all the body does: s = append(s, ...), or s[i] = ...
// followed by i++.
func (w *walker) collectedSlice(r *ast.RangeStmt) *types.Var {
	info := w.s.pass.TypesInfo
	if len(r.Body.List) == 2 {
		return w.filledSlice(r.Body.List[0], r.Body.List[1])
	}
	if len(r.Body.List) != 1 {
		return nil
	}
	as, ok := r.Body.List[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
		return nil
	}
	lhs, ok := as.Lhs[0].(*ast.Ident)
	if !ok {
		return nil
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok || len(call.Args) < 2 {
		return nil
	}
	if b, ok := info.Uses[identOf(call.Fun)].(*types.Builtin); !ok || b.Name() != "append" {
		return nil
	}
	v, _ := info.Uses[lhs].(*types.Var)
	if v == nil || info.Uses[identOf(call.Args[0])] != v {
		return nil
	}
	return v
}

// filledSlice returns s when the two statements are s[i] = ... and i++.
func (w *walker) filledSlice(set, inc ast.Stmt) *types.Var {
	info := w.s.pass.TypesInfo
	as, ok := set.(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 {
		return nil
	}
	ix, ok := as.Lhs[0].(*ast.IndexExpr)
	if !ok {
		return nil
	}
	v, _ := info.Uses[identOf(ix.X)].(*types.Var)
	if v == nil {
		return nil
	}
	if _, isSlice := v.Type().Underlying().(*types.Slice); !isSlice {
		return nil
	}
	idx := info.Uses[identOf(ix.Index)]
	st, ok := inc.(*ast.IncDecStmt)
	if !ok || st.Tok != token.INC || idx == nil || info.Uses[identOf(st.X)] != idx {
		return nil
	}
	return v
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := ast.Unparen(e).(*ast.Ident)
	return id
}

// sortedAfter says whether the next statement after r in its block that
// uses slice sorts it.
func (w *walker) sortedAfter(r *ast.RangeStmt, slice *types.Var) bool {
	var target ast.Stmt = r
	parents := w.stack
	if len(parents) > 0 {
		if l, ok := parents[len(parents)-1].(*ast.LabeledStmt); ok {
			target, parents = l, parents[:len(parents)-1]
		}
	}
	if len(parents) == 0 {
		return false
	}
	var list []ast.Stmt
	switch p := parents[len(parents)-1].(type) {
	case *ast.BlockStmt:
		list = p.List
	case *ast.CaseClause:
		list = p.Body
	case *ast.CommClause:
		list = p.Body
	default:
		return false
	}
	for i, st := range list {
		if st != target {
			continue
		}
		for _, next := range list[i+1:] {
			if w.uses(next, slice) {
				return w.sorts(next, slice)
			}
		}
		return false
	}
	return false
}

func (w *walker) uses(n ast.Node, v *types.Var) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && w.s.pass.TypesInfo.Uses[id] == v {
			found = true
		}
		return !found
	})
	return found
}

// sorts says whether st is a recognised call sorting slice.
func (w *walker) sorts(st ast.Stmt, slice *types.Var) bool {
	es, ok := st.(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	info := w.s.pass.TypesInfo
	fn := calleeFunc(info, call)
	if fn == nil || fn.Pkg() == nil || recvOf(fn) != nil {
		return false
	}
	first := info.Uses[identOf(call.Args[0])] == slice
	switch fn.Pkg().Path() + "." + fn.Name() {
	case "sort.Strings", "sort.Ints", "sort.Float64s", "sort.Slice", "sort.SliceStable",
		"slices.Sort", "slices.SortFunc", "slices.SortStableFunc":
		return first
	case "sort.Sort", "sort.Stable":
		// sort.Sort(sort.StringSlice(keys)), sort.Sort(byName(keys))
		conv, ok := ast.Unparen(call.Args[0]).(*ast.CallExpr)
		return ok && len(conv.Args) == 1 && info.Types[conv.Fun].IsType() && info.Uses[identOf(conv.Args[0])] == slice
	}
	return false
}

// commutative says whether a statement of a map range's body gives the
// same result whatever order the entries come in.
func (w *walker) commutative(r *ast.RangeStmt, st ast.Stmt) bool {
	info := w.s.pass.TypesInfo
	switch st := st.(type) {
	case *ast.AssignStmt:
		switch st.Tok {
		case token.ASSIGN:
			// m2[k] = v: each key written once, whatever the order.
			key := identOf(r.Key)
			if key == nil || len(st.Lhs) != 1 {
				return false
			}
			ix, ok := st.Lhs[0].(*ast.IndexExpr)
			if !ok {
				return false
			}
			if _, isMap := underlying(info.TypeOf(ix.X)).(*types.Map); !isMap {
				return false
			}
			k := identOf(ix.Index)
			return k != nil && info.ObjectOf(k) == info.ObjectOf(key)
		case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
			return len(st.Lhs) == 1 && isInteger(info.TypeOf(st.Lhs[0]))
		}
	case *ast.IncDecStmt:
		return isInteger(info.TypeOf(st.X))
	case *ast.ExprStmt:
		call, ok := st.X.(*ast.CallExpr)
		if !ok {
			return false
		}
		b, ok := info.Uses[identOf(call.Fun)].(*types.Builtin)
		return ok && b.Name() == "delete"
	}
	return false
}

func isInteger(t types.Type) bool {
	if t == nil {
		return false
	}
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}
