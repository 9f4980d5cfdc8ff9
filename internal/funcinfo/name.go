// Package funcinfo names workflow and activity functions and checks their
// shapes and arguments, for package workflow (at call sites), package engine
// (when running a workflow) and the worker (at registration), so all three
// agree.
package funcinfo

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// Name returns the name a workflow or activity function is known by: a
// plain function's short name ("Activity1"), or a method's name for a method
// value or method expression ("Activity2" for a.Activity2 with
// a *Activities). Anonymous functions have no usable name and get an error.
func Name(fn any) (string, error) {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func {
		return "", fmt.Errorf("%T is not a function", fn)
	}
	if v.IsNil() {
		return "", fmt.Errorf("nil function")
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return "", fmt.Errorf("cannot find the name of function %T", fn)
	}
	return shortName(f.Name())
}

// shortName turns a runtime function name such as
// "example.com/p.(*Activities).Activity2-fm" into "Activity2".
func shortName(full string) (string, error) {
	s := strings.TrimSuffix(full, "-fm")
	s = stripTypeArgs(s)
	// Drop the import path: everything up to the last slash.
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	name := s[strings.LastIndexByte(s, '.')+1:]
	if isClosureName(name) || strings.Contains(s, "..") {
		return "", fmt.Errorf("%s is an anonymous function: use a named function or method, or give it a name explicitly", full)
	}
	if name == "" {
		return "", fmt.Errorf("cannot derive a name from %q", full)
	}
	return name, nil
}

// stripTypeArgs removes bracketed type arguments ("F[...]") from a runtime
// function name.
func stripTypeArgs(s string) string {
	if !strings.ContainsRune(s, '[') {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isClosureName reports names the compiler gives function literals
// ("func1", "func2", ..., and "1", "2", ... for literals nested in one).
func isClosureName(name string) bool {
	rest := strings.TrimPrefix(name, "func")
	if rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
