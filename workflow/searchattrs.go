package workflow

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/searchattr"
)

// UpsertSearchAttributes sets search attributes of the instance: each
// pair is set, and a pair with an empty value removes its key. It is
// recorded in the history (a SearchAttributesUpserted event), so a replay
// does the same, and the worker applies it to the instance's registry
// entry and list index when the workflow task commits: lists and describe
// see it after that. Attributes are checked as at start
// (client.WorkflowInstanceOptions.SearchAttributes); an invalid one is
// refused with an error matching streams.ErrInvalidSearchAttribute, and
// nothing is recorded.
func UpsertSearchAttributes(ctx Context, attrs map[string]string) error {
	if err := searchattr.Check(attrs); err != nil {
		return fmt.Errorf("workflow.UpsertSearchAttributes: %w", err)
	}
	if len(attrs) == 0 {
		return nil
	}
	return envOf(ctx).UpsertSearchAttributes(attrs)
}
