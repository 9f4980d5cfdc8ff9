package jetflowvet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/jetflow/jetflow/jetflowvet"
)

// TestRules runs the analyzer over the testdata packages; their "want"
// comments are the findings (and facts) expected, line by line, and every
// line without one must have none.
func TestRules(t *testing.T) {
	tests := []struct {
		pkg  string
		what string
	}{
		{"example.com/rules", "every rule, and the code each must not report"},
		{"example.com/app", "call chains across packages, registered workflows, activities called as functions"},
		{"example.com/helper", "facts exported for non-deterministic helpers"},
		{"example.com/acts", "an activity known from its own package's ExecuteActivity"},
		{"example.com/suppress", "the //jetflowvet:ignore directive"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			t.Log(tt.what)
			analysistest.Run(t, analysistest.TestData(), jetflowvet.Analyzer, tt.pkg)
		})
	}
}

// TestSuggestedFixes applies the suggested fixes and compares the files
// with their .golden versions.
func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), jetflowvet.Analyzer, "example.com/fix")
}

// TestJetflowPackagesAreNotUserCode checks that the stub of jetflow's own
// workflow package, which reads the clock and starts goroutines, is not
// reported.
func TestJetflowPackagesAreNotUserCode(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), jetflowvet.Analyzer, "github.com/jetflow/jetflow/workflow")
}

func TestNewForGolangciLint(t *testing.T) {
	as, err := jetflowvet.New(nil)
	if err != nil || len(as) != 1 || as[0] != jetflowvet.Analyzer {
		t.Fatalf("New(nil) = %v, %v; want the jetflowvet analyzer", as, err)
	}
}
