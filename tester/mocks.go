package tester

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/stretchr/testify/mock"

	"github.com/jetflow/jetflow/internal/call"
	"github.com/jetflow/jetflow/internal/funcinfo"
	"github.com/jetflow/jetflow/workflow"
)

// hasExpectations reports whether m has any expectation for method.
func hasExpectations(m *mock.Mock, method string) bool {
	return slices.ContainsFunc(m.ExpectedCalls, func(c *mock.Call) bool { return c.Method == method })
}

// matches reports whether an expectation of m for method accepts args and
// may still be called, as testify decides when the call is made.
func matches(m *mock.Mock, method string, args []any) bool {
	return slices.ContainsFunc(m.ExpectedCalls, func(c *mock.Call) bool { return callMatches(c, method, args) })
}

// callMatches reports whether expectation c accepts a call of method with
// args and may still be called.
func callMatches(c *mock.Call, method string, args []any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // a matcher that panics: let testify report it
		}
	}()
	if c.Method != method || c.Repeatability < 0 {
		return false
	}
	_, n := c.Arguments.Diff(args)
	return n == 0
}

// callMock calls method on m with args. A call that no expectation
// matches comes back as testify's explanation in unexpected; a panic the
// expectation asked for (Call.Panic, or a Run function that panics) as a
// *workflow.PanicError, as the worker reports a panicking activity.
func callMock(m *mock.Mock, method string, args []any) (ret mock.Arguments, userPanic *workflow.PanicError, unexpected string) {
	expected := matches(m, method, args)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		msg := fmt.Sprint(r)
		if !expected || strings.Contains(msg, "mock: Unexpected Method Call") {
			ret, unexpected = nil, cleanMockMessage(msg)
			return
		}
		ret, userPanic = nil, &workflow.PanicError{Value: msg, Stack: string(debug.Stack())}
	}()
	return m.MethodCalled(method, args...), nil, ""
}

// cleanMockMessage drops the "at: [file:line ...]" lines of a testify
// message: they point into the tester, not at the test.
func cleanMockMessage(msg string) string {
	lines := strings.Split(msg, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "at: [") {
			continue
		}
		kept = append(kept, l)
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// formatCall renders the arguments of a mock call, whose first is the
// context: (ctx, 35, 12).
func formatCall(args []any) string {
	if len(args) == 0 {
		return "()"
	}
	s := formatArgs(args[1:])
	if len(args) == 1 {
		return "(ctx)"
	}
	return "(ctx, " + s[1:]
}

// mockResult is what a mock's expectation returned for a call.
type mockResult struct {
	fn     any    // a function to run in place of the mocked one
	result []byte // the encoded result
	err    error
}

// mockOutcome interprets the values an expectation returns for a call of
// the activity or sub-workflow (kind) name, whose function type is typ
// (nil if the test never gave the function): the function's result and
// error, only its error, or a function of the mocked function's shape
// (checked with validate) to run in its place. What does not fit is an
// error of the test's setup.
func (e *env) mockOutcome(kind, name string, typ reflect.Type, ret mock.Arguments, validate func(any) error) (mockResult, error) {
	bad := func(format string, args ...any) (mockResult, error) {
		return mockResult{}, fmt.Errorf("%w: the mock of %s %s: %s", ErrBadSetup, kind, name, fmt.Sprintf(format, args...))
	}
	if len(ret) == 1 && ret[0] != nil && reflect.TypeOf(ret[0]).Kind() == reflect.Func {
		if err := validate(ret[0]); err != nil {
			return bad("Return was given a function that cannot run as the %s: %v", kind, err)
		}
		return mockResult{fn: ret[0]}, nil
	}
	var value, errV any
	hasValue := false
	switch {
	case typ != nil && typ.NumOut() == 2:
		if len(ret) != 2 {
			return bad("it returns %v, so Return needs a value and an error (or a function of that type), got %d values", outTypes(typ), len(ret))
		}
		value, errV, hasValue = ret[0], ret[1], true
	case typ != nil:
		if len(ret) > 1 {
			return bad("it returns only an error, so Return needs one value (an error or nil), got %d", len(ret))
		}
		if len(ret) == 1 {
			errV = ret[0]
		}
	default:
		switch len(ret) {
		case 0:
		case 1:
			if _, isErr := ret[0].(error); isErr || ret[0] == nil {
				errV = ret[0]
			} else {
				value, hasValue = ret[0], true
			}
		case 2:
			value, errV, hasValue = ret[0], ret[1], true
		default:
			return bad("Return needs a value and an error, got %d values", len(ret))
		}
	}
	var err error
	if errV != nil {
		var ok bool
		if err, ok = errV.(error); !ok {
			return bad("Return was given %T where the error goes", errV)
		}
	}
	if err != nil {
		return mockResult{err: err}, nil
	}
	if !hasValue {
		return mockResult{}, nil
	}
	if typ != nil && value != nil {
		if ferr := funcinfo.Fits(reflect.TypeOf(value), typ.Out(0)); ferr != nil {
			return bad("it returns %v, but Return was given a %T", typ.Out(0), value)
		}
	}
	b, encErr := e.conv.Encode(value)
	if encErr != nil {
		return bad("encode the result %#v: %v", value, encErr)
	}
	return mockResult{result: b}, nil
}

func outTypes(t reflect.Type) string {
	parts := make([]string, t.NumOut())
	for i := range parts {
		parts[i] = t.Out(i).String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// decodeForMock decodes the encoded arguments of a call for a mock, after
// first (the context): into the parameter types of typ when the test gave
// the function, otherwise into the types of the values an expectation for
// method expects (any for matchers), so that expected and actual values
// compare equal when they should.
func (e *env) decodeForMock(m *mock.Mock, method string, typ reflect.Type, first any, payloads [][]byte) ([]any, error) {
	if typ != nil {
		vals, err := call.DecodeArgsOf(e.conv, typ, 1, payloads)
		if err != nil {
			return nil, err
		}
		out := []any{first}
		for _, v := range vals {
			out = append(out, v.Interface())
		}
		return out, nil
	}
	var fallback []any
	for _, c := range m.ExpectedCalls {
		if c.Method != method || len(c.Arguments) != len(payloads)+1 {
			continue
		}
		vals, ok := e.decodeLike(c.Arguments[1:], payloads)
		if !ok {
			continue
		}
		args := append([]any{first}, vals...)
		if fallback == nil {
			fallback = args
		}
		if callMatches(c, method, args) {
			return args, nil
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return append([]any{first}, e.decodeLoose(nil, payloads)...), nil
}

// decodeLike decodes each payload into the type of the expected value at
// the same position, or into any where a matcher is expected.
func (e *env) decodeLike(expected []any, payloads [][]byte) ([]any, bool) {
	out := make([]any, len(payloads))
	for i, b := range payloads {
		if !isPlain(expected[i]) || expected[i] == nil {
			out[i] = e.decodeAny(b)
			continue
		}
		v := reflect.New(reflect.TypeOf(expected[i]))
		if len(b) > 0 {
			if err := e.conv.Decode(b, v.Interface()); err != nil {
				return nil, false
			}
		}
		out[i] = v.Elem().Interface()
	}
	return out, true
}

// decodeLoose decodes payloads for messages: into typ's parameters if
// known and fitting, otherwise as the converter decodes into any.
func (e *env) decodeLoose(typ reflect.Type, payloads [][]byte) []any {
	if typ != nil {
		if vals, err := call.DecodeArgsOf(e.conv, typ, 1, payloads); err == nil {
			out := make([]any, len(vals))
			for i, v := range vals {
				out[i] = v.Interface()
			}
			return out
		}
	}
	out := make([]any, len(payloads))
	for i, b := range payloads {
		out[i] = e.decodeAny(b)
	}
	return out
}

func (e *env) decodeAny(b []byte) any {
	var v any
	if len(b) > 0 {
		if err := e.conv.Decode(b, &v); err != nil {
			return fmt.Sprintf("<undecodable: %v>", err)
		}
	}
	return v
}

// isPlain reports whether an expected argument is a value (compared for
// equality) rather than one of testify's matchers.
func isPlain(a any) bool {
	switch a.(type) {
	case mock.AnythingOfTypeArgument, *mock.IsTypeArgument, *mock.FunctionalOptionsArgument,
		interface{ Matches(any) bool }:
		return false
	}
	if s, ok := a.(string); ok && s == mock.Anything {
		return false
	}
	return true
}

// fitExpected checks the expected arguments of an On call against the
// mocked function's type (the first stands for the context) and converts
// numbers to the parameter types, so On(Add, mock.Anything, 35, 12)
// matches a call with int64 parameters as it would with int ones.
func fitExpected(api, name string, typ reflect.Type, args []any) ([]any, error) {
	n := typ.NumIn()
	if (!typ.IsVariadic() && len(args) != n) || (typ.IsVariadic() && len(args) < n-1) {
		return nil, fmt.Errorf("%w: %s(%s): %v takes %d arguments, the first being the context, but %d were given; "+
			"pass mock.Anything for the context", ErrBadSetup, api, name, typ, n, len(args))
	}
	out := slices.Clone(args)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == nil || !isPlain(a) {
			continue
		}
		p := typ.In(min(i, n-1))
		if typ.IsVariadic() && i >= n-1 {
			p = p.Elem()
		}
		have := reflect.TypeOf(a)
		if err := funcinfo.Fits(have, p); err != nil {
			return nil, fmt.Errorf("%w: %s(%s): argument %d: %v", ErrBadSetup, api, name, i, err)
		}
		if have != p && have.ConvertibleTo(p) && isNumber(have) && isNumber(p) {
			out[i] = reflect.ValueOf(a).Convert(p).Interface()
		}
	}
	return out, nil
}

func isNumber(t reflect.Type) bool {
	k := t.Kind()
	return (k >= reflect.Int && k <= reflect.Uintptr) || k == reflect.Float32 || k == reflect.Float64
}
