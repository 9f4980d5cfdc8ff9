package testenv

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/streams"
)

// TestOnlyTestsImportIt keeps the test harness out of the programs: no
// non-test file of the module imports testenv or wftest.
func TestOnlyTestsImportIt(t *testing.T) {
	root := filepath.Join("..", "..")
	const pkg = "github.com/jetflow/jetflow/internal/testenv"
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if strings.HasPrefix(filepath.ToSlash(path), "../../internal/testenv/") {
			return nil // the harness itself
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == pkg || strings.HasPrefix(p, pkg+"/") {
				t.Errorf("%s imports %s; only tests may", path, p)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

func TestNamespaces(t *testing.T) {
	srv := Server(t)
	a := Namespace(t, srv, "ns")
	b := Namespace(t, srv, "ns")
	require.NotEqual(t, a.Namespace(), b.Namespace())
	require.True(t, strings.HasPrefix(a.Namespace(), "ns"), a.Namespace())
	fixed := Namespace(t, srv, "ns", streams.WithNamespace("fixed"))
	require.Equal(t, "fixed", fixed.Namespace())
	require.Equal(t, streams.DefaultNamespace, Backend(t, Conn(t, srv)).Namespace())
}

func TestLoopbackServerTakesTCPClients(t *testing.T) {
	srv := Server(t, Loopback())
	require.True(t, strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:"), srv.ClientURL())
}

func TestContextHasTheDeadline(t *testing.T) {
	ctx := Context(t, time.Minute)
	deadline, ok := ctx.Deadline()
	require.True(t, ok)
	require.WithinDuration(t, time.Now().Add(time.Minute), deadline, 10*time.Second)
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	WaitFor(t, 10*time.Second, "three checks", func() bool { n++; return n == 3 })
	require.Equal(t, 3, n)
}
