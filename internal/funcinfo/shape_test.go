package funcinfo

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestCheckArgsCount(t *testing.T) {
	two := reflect.TypeFor[func(context.Context, int, string) error]()
	variadic := reflect.TypeFor[func(context.Context, string, ...int) error]()
	tests := []struct {
		name string
		t    reflect.Type
		args []any
		want *ArgCountError // nil: no count error
		text string
	}{
		{"too few", two, []any{1}, &ArgCountError{Want: 2, Params: "(int, string)", Got: 1},
			"takes 2 arguments (int, string), got 1"},
		{"too many", two, []any{1, "a", 3}, &ArgCountError{Want: 2, Params: "(int, string)", Got: 3},
			"takes 2 arguments (int, string), got 3"},
		{"variadic short", variadic, nil, &ArgCountError{Want: 1, Variadic: true, Params: "(string, ...int)", Got: 0},
			"takes at least 1 arguments (string, ...int), got 0"},
		{"fits", two, []any{1, "a"}, nil, ""},
		{"wrong type is not a count error", two, []any{"a", "b"}, nil, "argument 1: string does not fit int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckArgs(tt.t, 1, tt.args)
			var got *ArgCountError
			if errors.As(err, &got) != (tt.want != nil) {
				t.Fatalf("errors.As(%v, *ArgCountError) = %v, want %v", err, got != nil, tt.want != nil)
			}
			if tt.want != nil && *got != *tt.want {
				t.Errorf("got %+v, want %+v", *got, *tt.want)
			}
			if gotText := errText(err); gotText != tt.text {
				t.Errorf("text %q, want %q", gotText, tt.text)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
