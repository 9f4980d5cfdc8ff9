package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExamplesRun builds every example and runs it as a newcomer would,
// each on its own embedded server, checking it exits cleanly with the
// output it promises.
func TestExamplesRun(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./examples/...")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./examples/...: %s", out)

	tests := []struct {
		name string
		want []string
	}{
		{"quickstart", []string{"result: 59 (35 + 12 + 12)"}},
		{"signals", []string{"approved by [ann bob]"}},
		{"updates", []string{"cart holds 2 lines", "rejected:", "update rejected: quantity 0 of pot is not positive", "checked out 3 units"}},
		{"await", []string{"order 42 ready to ship"}},
		{"localactivity", []string{"charged 4999 cents, shipping to 1 MAIN ST", "LocalActivityCompleted normalizeAddress (attempt 1)", "LocalActivityCompleted Price (attempt 2)"}},
		{"dynamic", []string{"email to ann", "sms to ann", `hook audit got "ann"`, `hook crm got "ann"`}},
		{"retries", []string{"scheduled to start at", "imported 2026-12-05 on attempt 3", "stuck: workflow Stuck: run timeout of 500ms exceeded"}},
		{"timers", []string{"[reminder 1 reminder 2 reminder 3]", "[done, said ann]"}},
		{"subworkflows", []string{"parcel 1 shipped", "parcel 2 shipped", "failed: NoAddress: parcel 0 has no address"}},
		{"cancellation", []string{"stopped at step 3: context canceled", "Release(vm-1): ran", "canceled: true", "ActivityCancelRequested"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, tt.name))
			cmd.Env = append(os.Environ(), "NATS_URL=")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s:\n%s", tt.name, out)
			for _, w := range tt.want {
				assert.Contains(t, string(out), w)
			}
			assert.NotContains(t, string(out), "Configure(vm-1): ran", "the skipped activity never runs")
		})
	}
}
