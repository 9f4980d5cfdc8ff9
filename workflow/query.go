package workflow

import (
	"fmt"
	"reflect"

	"github.com/jetflow/jetflow/internal/funcinfo"
)

// SetQueryHandler registers handler to answer the query name
// (client.QueryWorkflow). handler is a func(args...) (T, error); it runs
// while the workflow is not running, must only read workflow state and must
// not call workflow functions that wait or schedule work. Registering a name
// again replaces the handler.
func SetQueryHandler(ctx Context, name string, handler any) error {
	env := envOf(ctx)
	if name == "" {
		return fmt.Errorf("workflow.SetQueryHandler: empty query name")
	}
	v := reflect.ValueOf(handler)
	if handler == nil || (v.Kind() == reflect.Func && v.IsNil()) {
		return fmt.Errorf("workflow.SetQueryHandler(%s): nil handler", name)
	}
	if err := funcinfo.CheckQueryHandler(v.Type()); err != nil {
		return fmt.Errorf("workflow.SetQueryHandler(%s): %w", name, err)
	}
	env.SetQueryHandler(name, v)
	return nil
}
