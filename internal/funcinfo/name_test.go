package funcinfo

import "testing"

func TestShortName(t *testing.T) {
	tests := []struct {
		full, want string
		anonymous  bool
	}{
		{"main.Activity1", "Activity1", false},
		{"github.com/x/app/flows.Workflow1", "Workflow1", false},
		{"github.com/x/app/flows.(*Activities).Activity2-fm", "Activity2", false},
		{"github.com/x/app/flows.Activities.ByValue-fm", "ByValue", false},
		{"gopkg.in/x.v3.Run", "Run", false},
		{"github.com/x/app/flows.Generic[...]", "Generic", false},
		{"github.com/x/app/flows.(*Box[...]).Get-fm", "Get", false},
		{"github.com/x/app/flows.Workflow1.func1", "", true},
		{"github.com/x/app/flows.Workflow1.func1.2", "", true},
		{"github.com/x/app/flows.glob..func1", "", true},
		{"github.com/x/app/flows.function", "function", false},
	}
	for _, tt := range tests {
		got, err := shortName(tt.full)
		if tt.anonymous {
			if err == nil {
				t.Errorf("%s: got %q, want an error", tt.full, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.full, got, err, tt.want)
		}
	}
}
