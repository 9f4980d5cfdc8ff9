// Package searchattr holds the rules of search attributes — their limits,
// their validation and how an upsert merges — so that workflow code can
// check an upsert without importing the storage layer. streams re-exports
// them (streams.CheckSearchAttributes, streams.ErrInvalidSearchAttribute).
package searchattr

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// Limits: keys are subject tokens as they are, values are encoded like
// instance IDs, and every pair is one list-index row.
const (
	MaxPairs    = 32
	MaxKeyLen   = 64
	MaxValueLen = 256
)

// ErrInvalid is returned (wrapped, with the reason) for a search attribute
// that cannot be used.
var ErrInvalid = errors.New("invalid search attribute")

// Check validates search attributes: at most MaxPairs pairs; keys of 1 to
// MaxKeyLen characters from [A-Za-z0-9_-]; values of valid UTF-8, at most
// MaxValueLen bytes. An empty value is allowed where the caller gives it a
// meaning (an upsert removes the key). Keys are checked in sorted order so
// the error is the same on every call.
func Check(attrs map[string]string) error {
	if len(attrs) > MaxPairs {
		return fmt.Errorf("%w: %d attributes, the limit is %d", ErrInvalid, len(attrs), MaxPairs)
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		switch {
		case k == "":
			return fmt.Errorf("%w: empty key", ErrInvalid)
		case len(k) > MaxKeyLen:
			return fmt.Errorf("%w: key %q is %d bytes long, the limit is %d", ErrInvalid, k, len(k), MaxKeyLen)
		case !plainKey(k):
			return fmt.Errorf("%w: key %q may only use letters, digits, '_' and '-'", ErrInvalid, k)
		case len(v) > MaxValueLen:
			return fmt.Errorf("%w: value of %q is %d bytes long, the limit is %d", ErrInvalid, k, len(v), MaxValueLen)
		case !utf8.ValidString(v):
			return fmt.Errorf("%w: value of %q is not valid UTF-8", ErrInvalid, k)
		}
	}
	return nil
}

// Merge applies an upsert to attrs: a key with an empty value is removed,
// any other is set. It returns the result (nil when empty) and leaves
// attrs as it was.
func Merge(attrs, upsert map[string]string) map[string]string {
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

// plainKey reports whether k uses only [A-Za-z0-9_-], so it can stand in a
// subject as it is.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
