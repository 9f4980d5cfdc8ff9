package jetflowvet

import (
	"bytes"
	"go/ast"
	"go/printer"
	"go/token"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/analysis"
)

// suggestFix returns the fix for a time call in workflow code when the
// workflow's context parameter is in scope at the call: time.Now() becomes
// workflow.Now(ctx), time.Since(t) workflow.Now(ctx).Sub(t), time.Until(t)
// t.Sub(workflow.Now(ctx)) and time.Sleep(d) workflow.Sleep(ctx, d). When
// the call was the file's only use of package time, the fix removes the
// import too.
func (s *state) suggestFix(fi *funcInfo, f finding) []analysis.SuggestedFix {
	if f.rule != ruleTime || f.callee == nil {
		return nil
	}
	ctx := s.contextName(fi, f.call.Pos())
	wf := s.workflowQualifier(fi.file, f.call.Pos())
	if ctx == "" || wf == "" {
		return nil
	}
	call := f.call
	now := wf + "Now(" + ctx + ")"
	var edits []analysis.TextEdit
	switch f.callee.Name() {
	case "Now":
		if len(call.Args) != 0 {
			return nil
		}
		edits = []analysis.TextEdit{{Pos: call.Pos(), End: call.End(), NewText: []byte(now)}}
	case "Since":
		if len(call.Args) != 1 {
			return nil
		}
		edits = []analysis.TextEdit{{Pos: call.Fun.Pos(), End: call.Fun.End(), NewText: []byte(now + ".Sub")}}
	case "Until":
		if len(call.Args) != 1 {
			return nil
		}
		t := s.source(call.Args[0])
		switch call.Args[0].(type) {
		case *ast.Ident, *ast.SelectorExpr, *ast.CallExpr, *ast.ParenExpr, *ast.IndexExpr:
		default:
			t = "(" + t + ")"
		}
		edits = []analysis.TextEdit{{Pos: call.Pos(), End: call.End(), NewText: []byte(t + ".Sub(" + now + ")")}}
	case "Sleep":
		if len(call.Args) != 1 {
			return nil
		}
		edits = []analysis.TextEdit{{Pos: call.Fun.Pos(), End: call.Lparen + 1, NewText: []byte(wf + "Sleep(" + ctx + ", ")}}
	default:
		return nil
	}
	edits = append(edits, s.dropTimeImport(fi.file, call)...)
	return []analysis.SuggestedFix{{
		Message:   "use the workflow's clock: " + string(edits[0].NewText),
		TextEdits: edits,
	}}
}

// contextName returns the name of the workflow's context parameter when it
// means that parameter at pos, or "".
func (s *state) contextName(fi *funcInfo, pos token.Pos) string {
	p := fi.ctxParam
	if p == nil || p.Name() == "" || p.Name() == "_" {
		return ""
	}
	scope := s.pass.Pkg.Scope().Innermost(pos)
	if scope == nil {
		return ""
	}
	if _, obj := scope.LookupParent(p.Name(), pos); obj != p {
		return "" // shadowed
	}
	return p.Name()
}

// workflowQualifier returns how file refers to the workflow package at pos
// ("workflow." or an alias; "" for a dot import is "" too, so no fix), or
// "" when it does not import it.
func (s *state) workflowQualifier(file *ast.File, pos token.Pos) string {
	for _, spec := range file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil || path != workflowPkg {
			continue
		}
		name := "workflow"
		if spec.Name != nil {
			name = spec.Name.Name
		}
		if name == "_" || name == "." {
			return ""
		}
		scope := s.pass.Pkg.Scope().Innermost(pos)
		if scope == nil {
			return ""
		}
		if _, obj := scope.LookupParent(name, pos); obj == nil {
			return ""
		} else if pn, ok := obj.(*types.PkgName); !ok || pn.Imported().Path() != workflowPkg {
			return ""
		}
		return name + "."
	}
	return ""
}

// dropTimeImport returns the edit removing file's import of package time
// when call is the file's only use of it.
func (s *state) dropTimeImport(file *ast.File, call *ast.CallExpr) []analysis.TextEdit {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return nil
	}
	pn, ok := s.pass.TypesInfo.Uses[id].(*types.PkgName)
	if !ok {
		return nil
	}
	uses := 0
	ast.Inspect(file, func(n ast.Node) bool {
		if x, ok := n.(*ast.Ident); ok && s.pass.TypesInfo.Uses[x] == pn {
			uses++
		}
		return true
	})
	if uses != 1 {
		return nil
	}
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, spec := range gd.Specs {
			is := spec.(*ast.ImportSpec)
			if s.pass.TypesInfo.Defs[is.Name] != pn && s.pass.TypesInfo.Implicits[is] != pn {
				continue
			}
			if !gd.Lparen.IsValid() || len(gd.Specs) == 1 {
				return []analysis.TextEdit{{Pos: gd.Pos(), End: gd.End()}}
			}
			return []analysis.TextEdit{{Pos: is.Pos(), End: is.End()}}
		}
	}
	return nil
}

// source prints an expression as Go source.
func (s *state) source(e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, s.pass.Fset, e); err != nil {
		return ""
	}
	return b.String()
}
