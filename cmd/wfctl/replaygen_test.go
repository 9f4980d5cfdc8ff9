package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScanPackage(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.go": `package p

import "github.com/jetflow/jetflow/workflow"

func Plain(ctx workflow.Context) error { return nil }
func WithResult(ctx workflow.Context, a, b int) (int, error) { return 0, nil }
func Named(ctx workflow.Context) (n int, err error) { return 0, nil }
func unexported(ctx workflow.Context) error { return nil }
func NoError(ctx workflow.Context) string { return "" }
func ThreeResults(ctx workflow.Context) (int, int, error) { return 0, 0, nil }
func NoContext(s string) error { return nil }
func Generic[T any](ctx workflow.Context, v T) (T, error) { return v, nil }
type S struct{}
func (S) Method(ctx workflow.Context) error { return nil }
func init() {}
`,
		"b.go": `package p

import (
	"context"
	wf "github.com/jetflow/jetflow/workflow"
)

func Aliased(ctx wf.Context) error { return nil }
func Activity(ctx context.Context) error { return nil }
`,
		"c.go": `package p

import . "github.com/jetflow/jetflow/workflow"

func Dotted(ctx Context) error { return nil }
`,
		"d.go": `package p

import "context"

// Context here is another package's: not a workflow.
func Other(ctx context.Context) error { return nil }
`,
	}
	var names []string
	for name, src := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600))
		names = append(names, name)
	}
	pf, err := scanPackage(dir, names)
	require.NoError(t, err)
	assert.Equal(t, []string{"Aliased", "Dotted", "Named", "Plain", "WithResult", "unexported"}, pf.Workflows)
	assert.True(t, pf.All["NoError"])
	assert.True(t, pf.All["unexported"])
	assert.False(t, pf.All["Generic"])
	assert.False(t, pf.All["Method"])
	assert.False(t, pf.All["init"])

	regs, err := registrations(pf, map[string]string{"Legacy": "unexported", "Plain": "Aliased"}, "p")
	require.NoError(t, err)
	assert.Equal(t, []registration{
		{Name: "Aliased", Func: "Aliased"},
		{Name: "Dotted", Func: "Dotted"},
		{Name: "Legacy", Func: "unexported", Explicit: true},
		{Name: "Named", Func: "Named"},
		{Name: "Plain", Func: "Aliased", Explicit: true},
		{Name: "WithResult", Func: "WithResult"},
	}, regs)

	_, err = registrations(pf, map[string]string{"X": "Missing"}, "p")
	assert.ErrorContains(t, err, "no top-level function Missing")
	_, err = registrations(&packageFuncs{All: map[string]bool{}}, nil, "p")
	assert.ErrorContains(t, err, "no exported workflow functions")
}

func TestGenerateReplayTest(t *testing.T) {
	src, err := generateReplayTest("main", []registration{{Name: "Order", Func: "Order"}, {Name: "Legacy \"v1\"", Func: "orderV1"}})
	require.NoError(t, err)
	f, err := parser.ParseFile(token.NewFileSet(), "gen_test.go", src, 0)
	require.NoError(t, err, "%s", src)
	assert.Equal(t, "main", f.Name.Name)
	assert.Contains(t, string(src), `wfctlRegister("Order", "Order", Order)`)
	assert.Contains(t, string(src), `wfctlRegister("Legacy \"v1\"", "orderV1", orderV1)`)
	assert.Contains(t, string(src), "func TestWfctlReplay(")
	// Every file-scope name of the generated file is prefixed.
	for _, imp := range f.Imports {
		require.NotNil(t, imp.Name, imp.Path.Value)
		assert.Regexp(t, "^wfctl", imp.Name.Name)
	}
}
