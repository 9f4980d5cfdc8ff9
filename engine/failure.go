package engine

import (
	"errors"
	"go/token"
	"reflect"
	"strings"

	"github.com/jetflow/jetflow/history"
	"github.com/jetflow/jetflow/internal/wfenv"
	"github.com/jetflow/jetflow/workflow"
)

// FailureFromError turns an error into its stored form, keeping what
// ErrorFromFailure needs to rebuild an equivalent error: the type of a
// *workflow.Error, the value and stack of a *workflow.PanicError,
// cancellation, the instance sentinels, the name of the error's own Go
// type otherwise (the rule is on workflow.Error), a stack the error
// carries, and the permanent mark of workflow.NewPermanentError. The
// message is err.Error(). Nil gives nil.
func FailureFromError(err error) *history.Failure {
	if err == nil {
		return nil
	}
	f := &history.Failure{Message: err.Error()}
	var perm *wfenv.PermanentError
	f.NonRetryable = errors.As(err, &perm)
	var p *workflow.PanicError
	var we *workflow.Error
	switch {
	case errors.As(err, &p):
		f.Type, f.Message, f.Stack = workflow.ErrTypePanic, p.Value, p.Stack
		return f
	case errors.As(err, &we):
		f.Type, f.Stack = we.Type, we.Stack
	case errors.Is(err, workflow.Canceled):
		f.Type = workflow.ErrTypeCanceled
	case errors.Is(err, workflow.ErrInstanceAlreadyExists):
		f.Type = workflow.ErrTypeInstanceAlreadyExists
	case errors.Is(err, workflow.ErrInstanceNotFound):
		f.Type = workflow.ErrTypeInstanceNotFound
	default:
		f.Type = ownTypeName(err)
	}
	var st stacker
	if f.Stack == "" && errors.As(err, &st) {
		f.Stack = st.Stack()
	}
	return f
}

// stacker is an error that knows the stack where it was made.
type stacker interface{ Stack() string }

// ownTypeName returns the name of the Go type of the outermost error in
// err's chain that has a type of its own (see typeName), depth first
// through errors.Join's lists; "" if there is none.
func ownTypeName(err error) string {
	for err != nil {
		if name := typeName(err); name != "" {
			return name
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if name := ownTypeName(e); name != "" {
					return name
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// typeName returns the name of err's Go type without its package, its
// pointer star and its type arguments, or "" for a type that is not the
// error's own: the standard library's unexported types (errors.New,
// fmt.Errorf's wrappers, errors.Join, context errors) and jetflow's
// permanent mark.
func typeName(err error) string {
	if _, ok := err.(*wfenv.PermanentError); ok {
		return ""
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if name == "" || (isStandardLibrary(t.PkgPath()) && !token.IsExported(name)) {
		return ""
	}
	return name
}

// isStandardLibrary reports whether a package path is the standard
// library's: its first element has no dot, and it is not a main package.
func isStandardLibrary(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return pkg != "main" && !strings.Contains(first, ".")
}

// ErrorFromFailure rebuilds an error from its stored form: a
// *workflow.PanicError for a panic, otherwise a *workflow.Error with the
// failure's type, message and stack (which matches workflow.Canceled,
// workflow.ErrInstanceAlreadyExists or workflow.ErrInstanceNotFound with
// errors.Is when its type says so), marked permanent if the failure is
// non-retryable. Nil gives nil.
func ErrorFromFailure(f *history.Failure) error {
	if f == nil {
		return nil
	}
	var err error
	if f.Type == workflow.ErrTypePanic {
		err = &workflow.PanicError{Value: f.Message, Stack: f.Stack}
	} else {
		err = &workflow.Error{Type: f.Type, Message: f.Message, Stack: f.Stack}
	}
	if f.NonRetryable {
		err = workflow.NewPermanentError(err)
	}
	return err
}

// IsPermanent reports whether err was marked with
// workflow.NewPermanentError (and must not be retried).
func IsPermanent(err error) bool {
	var perm *wfenv.PermanentError
	return errors.As(err, &perm)
}
