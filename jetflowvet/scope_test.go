package jetflowvet

import "testing"

func TestJetflowLibrary(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"github.com/jetflow/jetflow", true},
		{"github.com/jetflow/jetflow/workflow", true},
		{"github.com/jetflow/jetflow/internal/coro", true},
		{"github.com/jetflow/jetflow/tester_test", true}, // only its test files are looked at
		{"github.com/jetflow/jetflow/examples/timers", false},
		{"github.com/jetflow/jetflow/e2e", false},
		{"github.com/jetflow/jetflow/faults", false},
		{"github.com/jetflow/jetflow/cmd/jetflowvet/testdata/bad", false},
		{"github.com/jetflow/jetflowish/workflow", false},
		{"example.com/app", false},
	}
	for _, tt := range tests {
		if got := jetflowLibrary(tt.path); got != tt.want {
			t.Errorf("jetflowLibrary(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
