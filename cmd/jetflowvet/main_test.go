package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildVet builds the command once per test into a temporary directory.
func buildVet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jetflowvet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// run runs name with args and returns its output and exit code.
func run(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return o.String(), e.String(), code
}

const want = "bad.go:12:9: time.Now in workflow code: use workflow.Now(ctx)"

// TestCommand runs the built checker the ways docs/jetflowvet.md describes,
// on a package of this module that imports the real workflow package.
func TestCommand(t *testing.T) {
	bin := buildVet(t)
	t.Run("standalone reports with file:line and exits 3", func(t *testing.T) {
		_, stderr, code := run(t, bin, "./testdata/bad")
		assert.Equal(t, 3, code, stderr)
		assert.Contains(t, stderr, want)
	})
	t.Run("standalone on clean code is silent", func(t *testing.T) {
		stdout, stderr, code := run(t, bin, "./testdata/good")
		assert.Equal(t, 0, code, stderr)
		assert.Empty(t, stdout+stderr)
	})
	for _, flag := range []string{"-json", "--json"} {
		t.Run(flag, func(t *testing.T) {
			stdout, stderr, code := run(t, bin, flag, "./testdata/bad")
			require.Equal(t, 0, code, stderr)
			// package → analyzer → diagnostics
			var out map[string]map[string][]struct {
				Category string `json:"category"`
				Posn     string `json:"posn"`
				Message  string `json:"message"`
				Fixes    []struct {
					Message string `json:"message"`
				} `json:"suggested_fixes"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
			diags := out["github.com/jetflow/jetflow/cmd/jetflowvet/testdata/bad"]["jetflowvet"]
			require.Len(t, diags, 1, stdout)
			assert.Equal(t, "time", diags[0].Category)
			assert.True(t, strings.HasSuffix(diags[0].Posn, "bad.go:12:9"), diags[0].Posn)
			assert.Equal(t, "time.Now in workflow code: use workflow.Now(ctx)", diags[0].Message)
			require.Len(t, diags[0].Fixes, 1)
		})
	}
	t.Run("go vet -vettool", func(t *testing.T) {
		_, stderr, code := run(t, "go", "vet", "-vettool="+bin, "./testdata/bad")
		assert.NotEqual(t, 0, code)
		assert.Contains(t, stderr, want)
		_, stderr, code = run(t, "go", "vet", "-vettool="+bin, "./testdata/good")
		assert.Equal(t, 0, code, stderr)
	})
	t.Run("-diff shows the fix", func(t *testing.T) {
		stdout, stderr, _ := run(t, bin, "-fix", "-diff", "./testdata/bad")
		assert.Contains(t, stdout, "+\treturn workflow.Now(ctx), nil", stderr)
	})
}

// TestFollowsLocallyReplacedModules checks that a helper in a module
// replaced by a local directory is followed, both standalone and through go
// vet (whose driver does not say that a module is replaced).
func TestFollowsLocallyReplacedModules(t *testing.T) {
	bin := buildVet(t)
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	files := map[string]string{
		"lib/go.mod": "module example.com/lib\n\ngo 1.26\n",
		"lib/lib.go": "package lib\n\nimport \"time\"\n\nfunc Stamp() time.Time { return time.Now() }\n",
		"app/go.mod": "module example.com/app\n\ngo 1.26.0\n\n" +
			"require (\n\texample.com/lib v0.0.0\n\tgithub.com/jetflow/jetflow v0.0.0\n)\n\n" +
			"replace example.com/lib => ../lib\n\nreplace github.com/jetflow/jetflow => " + root + "\n",
		"app/go.sum": string(sum),
		"app/app.go": "package app\n\nimport (\n\t\"example.com/lib\"\n\t\"github.com/jetflow/jetflow/workflow\"\n)\n\n" +
			"func W(ctx workflow.Context) { _ = lib.Stamp() }\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	const want = "app.go:8:36: calls lib.Stamp → time.Now, not deterministic in workflow code"
	for _, args := range [][]string{{bin, "./..."}, {"go", "vet", "-vettool=" + bin, "./..."}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = filepath.Join(dir, "app")
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v: %s", args, out)
		assert.Contains(t, string(out), want, "%v", args)
	}
}
