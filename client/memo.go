package client

import (
	"fmt"

	"github.com/jetflow/jetflow/converter"
)

// encodeMemo encodes each memo value with conv; nil for an empty memo.
func encodeMemo(conv converter.Converter, memo map[string]any) (map[string][]byte, error) {
	if len(memo) == 0 {
		return nil, nil
	}
	out := make(map[string][]byte, len(memo))
	for k, v := range memo {
		if k == "" {
			return nil, fmt.Errorf("memo: empty key")
		}
		b, err := conv.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("memo %q: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}
