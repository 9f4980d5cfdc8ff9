package jetflowvet

import (
	"go/ast"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// directivePrefix starts a comment that silences the findings on its line
// or the line after it. A reason must follow.
const directivePrefix = "//jetflowvet:ignore"

type directive struct {
	pos    token.Pos
	reason string
}

// readDirectives records a file's directives by line, and reports those
// without a reason (they silence nothing).
func (s *state) readDirectives(f *ast.File) {
	tf := s.pass.Fset.File(f.Pos())
	lines := map[int]directive{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			rest, ok := strings.CutPrefix(c.Text, directivePrefix)
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			reason := strings.TrimSpace(rest)
			if reason == "" {
				s.pass.Report(analysis.Diagnostic{
					Pos:      c.Pos(),
					End:      c.End(),
					Category: ruleDirective,
					Message:  directivePrefix + " needs a reason: " + directivePrefix + " <why this is deterministic>",
				})
				continue
			}
			lines[tf.Line(c.Pos())] = directive{pos: c.Pos(), reason: reason}
		}
	}
	s.directives[tf] = lines
}

// suppressed says whether a directive silences a finding at pos.
func (s *state) suppressed(pos token.Pos) bool {
	tf := s.pass.Fset.File(pos)
	if tf == nil {
		return false
	}
	lines := s.directives[tf]
	line := tf.Line(pos)
	_, same := lines[line]
	_, before := lines[line-1]
	return same || before
}
