package streams

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// Limits of search attributes: keys are subject tokens as they are, values
// are encoded like instance IDs, and every pair is one list-index row
// (wfx.<ns>.a.<key>.<value>.<inst>).
const (
	MaxSearchAttributes        = 32
	MaxSearchAttributeKeyLen   = 64
	MaxSearchAttributeValueLen = 256
)

// ErrInvalidSearchAttribute is returned (wrapped, with the reason) for a
// search attribute that cannot be used.
var ErrInvalidSearchAttribute = errors.New("invalid search attribute")

// CheckSearchAttributes validates search attributes: at most
// MaxSearchAttributes pairs; keys of 1 to 64 characters from
// [A-Za-z0-9_-]; values of valid UTF-8, at most 256 bytes. An empty value
// is allowed where the caller gives it a meaning (an upsert removes the
// key).
func CheckSearchAttributes(attrs map[string]string) error {
	if len(attrs) > MaxSearchAttributes {
		return fmt.Errorf("%w: %d attributes, the limit is %d", ErrInvalidSearchAttribute, len(attrs), MaxSearchAttributes)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		switch {
		case k == "":
			return fmt.Errorf("%w: empty key", ErrInvalidSearchAttribute)
		case len(k) > MaxSearchAttributeKeyLen:
			return fmt.Errorf("%w: key %q is %d bytes long, the limit is %d", ErrInvalidSearchAttribute, k, len(k), MaxSearchAttributeKeyLen)
		case !plainToken(k):
			return fmt.Errorf("%w: key %q may only use letters, digits, '_' and '-'", ErrInvalidSearchAttribute, k)
		case len(v) > MaxSearchAttributeValueLen:
			return fmt.Errorf("%w: value of %q is %d bytes long, the limit is %d", ErrInvalidSearchAttribute, k, len(v), MaxSearchAttributeValueLen)
		case !utf8.ValidString(v):
			return fmt.Errorf("%w: value of %q is not valid UTF-8", ErrInvalidSearchAttribute, k)
		}
	}
	return nil
}

// MergeSearchAttributes applies an upsert to attrs: a key with an empty
// value is removed, any other is set. It returns the result (nil when
// empty) and leaves attrs as it was.
func MergeSearchAttributes(attrs, upsert map[string]string) map[string]string {
	out := maps.Clone(attrs)
	for k, v := range upsert {
		if v == "" {
			delete(out, k)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
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
