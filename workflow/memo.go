package workflow

import (
	"fmt"

	"github.com/jetflow/jetflow/internal/wfenv"
)

// GetMemoValue decodes the memo value of key that the run's instance was
// started with (client.WorkflowInstanceOptions.Memo,
// SubWorkflowOptions.Memo) into valuePtr, and reports whether there is
// one. A memo is carried across continue-as-new and retries.
func GetMemoValue(ctx Context, key string, valuePtr any) (bool, error) {
	env := envOf(ctx)
	b, ok := env.Info().Memo[key]
	if !ok {
		return false, nil
	}
	if err := env.Decode(b, valuePtr); err != nil {
		return true, fmt.Errorf("workflow.GetMemoValue(%q): %w", key, err)
	}
	return true, nil
}

// encodeMemo encodes each memo value with the run's converter; nil for
// an empty memo.
func encodeMemo(env wfenv.Env, memo map[string]any) (map[string][]byte, error) {
	if len(memo) == 0 {
		return nil, nil
	}
	out := make(map[string][]byte, len(memo))
	for k, v := range memo {
		if k == "" {
			return nil, fmt.Errorf("memo: empty key")
		}
		b, err := env.Encode(v)
		if err != nil {
			return nil, fmt.Errorf("memo %q: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}
