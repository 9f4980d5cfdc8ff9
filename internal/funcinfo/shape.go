package funcinfo

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

var (
	errorType   = reflect.TypeFor[error]()
	contextType = reflect.TypeFor[context.Context]()
)

// CheckWorkflow checks that t is func(ctxType, args...) error or
// func(ctxType, args...) (T, error).
func CheckWorkflow(t reflect.Type, ctxType reflect.Type) error {
	return checkShape(t, ctxType, "workflow.Context")
}

// CheckActivity checks that t is func(context.Context, args...) error or
// func(context.Context, args...) (T, error).
func CheckActivity(t reflect.Type) error {
	return checkShape(t, contextType, "context.Context")
}

func checkShape(t reflect.Type, first reflect.Type, firstName string) error {
	if t == nil || t.Kind() != reflect.Func {
		return fmt.Errorf("%v is not a function", t)
	}
	if t.NumIn() == 0 || t.In(0) != first {
		return fmt.Errorf("%v: the first parameter must be a %s", t, firstName)
	}
	switch t.NumOut() {
	case 1:
		if t.Out(0) != errorType {
			return fmt.Errorf("%v: must return error or (T, error)", t)
		}
	case 2:
		if t.Out(1) != errorType {
			return fmt.Errorf("%v: must return error or (T, error)", t)
		}
	default:
		return fmt.Errorf("%v: must return error or (T, error)", t)
	}
	return nil
}

// ResultType returns the T of a function returning (T, error), or nil for
// one returning only error.
func ResultType(t reflect.Type) reflect.Type {
	if t.NumOut() == 2 {
		return t.Out(0)
	}
	return nil
}

// CheckQueryHandler checks that t is func(args...) (T, error).
func CheckQueryHandler(t reflect.Type) error {
	if t == nil || t.Kind() != reflect.Func {
		return fmt.Errorf("%v is not a function", t)
	}
	if t.NumOut() != 2 || t.Out(1) != errorType {
		return fmt.Errorf("%v: a query handler must return (T, error)", t)
	}
	return nil
}

// params describes the parameters of t after the first skip ones.
func params(t reflect.Type, skip int) string {
	var names []string
	for i := skip; i < t.NumIn(); i++ {
		if t.IsVariadic() && i == t.NumIn()-1 {
			names = append(names, "..."+t.In(i).Elem().String())
			continue
		}
		names = append(names, t.In(i).String())
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// paramType returns the type argument i (counted after skip) must have, and
// whether there is such a parameter.
func paramType(t reflect.Type, skip, i int) (reflect.Type, bool) {
	n := t.NumIn() - skip
	if t.IsVariadic() && i >= n-1 {
		return t.In(t.NumIn() - 1).Elem(), true
	}
	if i >= n {
		return nil, false
	}
	return t.In(skip + i), true
}

// ArgCountError is the error of CheckArgs when the number of arguments
// does not fit the function's parameters. Its text names the parameters
// ("takes 2 arguments (int, int), got 1"), so callers that add the
// function's name match it with errors.As rather than print the
// parameters twice.
type ArgCountError struct {
	// Want is the number of parameters (the fixed ones for a variadic
	// function).
	Want int
	// Variadic means Want is a minimum.
	Variadic bool
	// Params lists the parameter types, "(int, int)".
	Params string
	// Got is the number of arguments given.
	Got int
}

// Error returns "takes N arguments (types), got M".
func (e *ArgCountError) Error() string {
	least := ""
	if e.Variadic {
		least = "at least "
	}
	return fmt.Sprintf("takes %s%d arguments %s, got %d", least, e.Want, e.Params, e.Got)
}

// checkCount checks that got arguments fit the parameters of t after skip.
func checkCount(t reflect.Type, skip, got int) error {
	n := t.NumIn() - skip
	if t.IsVariadic() {
		if got < n-1 {
			return &ArgCountError{Want: n - 1, Variadic: true, Params: params(t, skip), Got: got}
		}
		return nil
	}
	if got != n {
		return &ArgCountError{Want: n, Params: params(t, skip), Got: got}
	}
	return nil
}

// CheckArgs checks that args can be passed as the parameters of t that
// follow the first skip ones. A value fits a parameter if it is assignable
// to it, or if both are numbers of a kind the converter turns into one
// another (an untyped constant 35 for an int64 parameter).
func CheckArgs(t reflect.Type, skip int, args []any) error {
	if err := checkCount(t, skip, len(args)); err != nil {
		return err
	}
	for i, a := range args {
		p, _ := paramType(t, skip, i)
		if err := Fits(reflect.TypeOf(a), p); err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	return nil
}

// Fits reports whether a value of type have can travel to a value of type
// want through the converter: assignable, numerically compatible, or a
// pointer where the other side has the value (or the reverse: the
// converter writes a pointer as the value it points to, and a nil pointer
// as nil, which decodes as the zero value), also inside slices, arrays
// and maps (a []*Order for a []Order). A nil have (an untyped nil) fits
// any type that can be nil. The error names both types.
func Fits(have, want reflect.Type) error {
	if have == nil {
		switch want.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
			return nil
		}
		return fmt.Errorf("nil does not fit %v", want)
	}
	if !fits(have, want, 0) {
		return fmt.Errorf("%v does not fit %v", have, want)
	}
	return nil
}

// maxFitDepth bounds the walk of fits through nested types (a recursive
// type would otherwise never end).
const maxFitDepth = 16

func fits(have, want reflect.Type, depth int) bool {
	if have.AssignableTo(want) {
		return true
	}
	if depth >= maxFitDepth {
		return false
	}
	hk, wk := have.Kind(), want.Kind()
	switch {
	case isInteger(hk) && (isInteger(wk) || isFloat(wk)):
		return true
	case isFloat(hk) && isFloat(wk):
		return true
	case hk == reflect.Pointer && wk != reflect.Pointer:
		return fits(have.Elem(), want, depth+1)
	case wk == reflect.Pointer && hk != reflect.Pointer:
		return fits(have, want.Elem(), depth+1)
	case hk == reflect.Pointer && wk == reflect.Pointer:
		return fits(have.Elem(), want.Elem(), depth+1)
	case (hk == reflect.Slice || hk == reflect.Array) && (wk == reflect.Slice || wk == reflect.Array):
		if hk == reflect.Array && wk == reflect.Array && have.Len() != want.Len() {
			return false
		}
		// A []byte travels as bytes, not as a list: only to its own kind.
		bytes := reflect.TypeFor[byte]()
		return have.Elem() != bytes && want.Elem() != bytes && fits(have.Elem(), want.Elem(), depth+1)
	case hk == reflect.Map && wk == reflect.Map:
		return fits(have.Key(), want.Key(), depth+1) && fits(have.Elem(), want.Elem(), depth+1)
	}
	return false
}

func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}

func isFloat(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }

// DecodeArgs decodes payloads into values of the parameters of t that
// follow the first skip ones, ready for reflect.Value.Call.
func DecodeArgs(t reflect.Type, skip int, payloads [][]byte, decode func([]byte, any) error) ([]reflect.Value, error) {
	if err := checkCount(t, skip, len(payloads)); err != nil {
		return nil, err
	}
	vals := make([]reflect.Value, len(payloads))
	for i, b := range payloads {
		p, _ := paramType(t, skip, i)
		v := reflect.New(p)
		if len(b) > 0 {
			if err := decode(b, v.Interface()); err != nil {
				return nil, fmt.Errorf("argument %d: cannot decode into %v: %w", i+1, p, err)
			}
		}
		vals[i] = v.Elem()
	}
	return vals, nil
}
