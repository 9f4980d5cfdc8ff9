package jetflowvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/jetflow/jetflow/jetflowvet"
)

// TestRules runs the analyzer over the testdata packages; their "want"
// comments are the findings (and facts) expected, line by line, and every
// line without one must have none. The packages are loaded together, once:
//
//   - example.com/rules: every rule, and the code each must not report
//     (rules.go: true positives; ok.go: sorted map ranges, SideEffect, a
//     seeded generator, a function that only looks like a workflow);
//   - example.com/app: call chains across packages (app → helper → deep),
//     workflows known by registration, activities called as functions;
//   - example.com/helper, example.com/deep: the facts exported for
//     non-deterministic helpers;
//   - example.com/acts: an activity known from its own package's
//     ExecuteActivity call;
//   - example.com/suppress: the //jetflowvet:ignore directive;
//   - github.com/jetflow/jetflow/workflow: the stub of jetflow's own
//     package, which reads the clock and starts goroutines, is not user
//     code and has no findings.
func TestRules(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), jetflowvet.Analyzer,
		"example.com/rules", "example.com/app", "example.com/helper", "example.com/deep",
		"example.com/acts", "example.com/suppress", "github.com/jetflow/jetflow/workflow")
}

// TestSuggestedFixes applies the suggested fixes and compares the files
// with their .golden versions.
func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), jetflowvet.Analyzer, "example.com/fix")
}

func TestNewForGolangciLint(t *testing.T) {
	as, err := jetflowvet.New(nil)
	if err != nil || len(as) != 1 || as[0] != jetflowvet.Analyzer {
		t.Fatalf("New(nil) = %v, %v; want the jetflowvet analyzer", as, err)
	}
}
