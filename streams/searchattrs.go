package streams

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/searchattr"
)

// Limits of search attributes: keys are subject tokens as they are, values
// are encoded like instance IDs, and every pair is one list-index row
// (wfx.<ns>.a.<key>.<value>.<inst>).
const (
	MaxSearchAttributes        = searchattr.MaxPairs
	MaxSearchAttributeKeyLen   = searchattr.MaxKeyLen
	MaxSearchAttributeValueLen = searchattr.MaxValueLen
)

// ErrInvalidSearchAttribute is returned (wrapped, with the reason) for a
// search attribute that cannot be used. workflow.UpsertSearchAttributes
// returns the same value.
var ErrInvalidSearchAttribute = searchattr.ErrInvalid

// CheckSearchAttributes validates search attributes: at most
// MaxSearchAttributes pairs; keys of 1 to 64 characters from
// [A-Za-z0-9_-]; values of valid UTF-8, at most 256 bytes. An empty value
// is allowed where the caller gives it a meaning (an upsert removes the
// key).
func CheckSearchAttributes(attrs map[string]string) error {
	return searchattr.Check(attrs)
}

// MergeSearchAttributes applies an upsert to attrs: a key with an empty
// value is removed, any other is set. It returns the result (nil when
// empty) and leaves attrs as it was.
func MergeSearchAttributes(attrs, upsert map[string]string) map[string]string {
	return searchattr.Merge(attrs, upsert)
}

// checkFilterAttributes validates the search attributes of a list filter:
// as CheckSearchAttributes, and no value may be empty.
func checkFilterAttributes(attrs map[string]string) error {
	if err := CheckSearchAttributes(attrs); err != nil {
		return err
	}
	for k, v := range attrs {
		if v == "" {
			return fmt.Errorf("%w: filter on %q with an empty value", ErrInvalidSearchAttribute, k)
		}
	}
	return nil
}

// hasAttributes reports whether have holds every pair of want.
func hasAttributes(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
