package workflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jetflow/jetflow/internal/enginetest"
	"github.com/jetflow/jetflow/workflow"
)

type ctxKey struct{}

func TestContextValuesAndCancellation(t *testing.T) {
	r := enginetest.Start(t, func(ctx workflow.Context) ([]string, error) {
		var tr trace
		vctx := workflow.WithValue(ctx, ctxKey{}, "v")
		parent, cancelParent := workflow.WithCancel(vctx)
		child, cancelChild := workflow.WithCancel(parent)
		sibling, cancelSibling := workflow.WithCancel(parent)
		defer cancelSibling()
		detached := workflow.NewDisconnectedContext(child)
		tr.add("value through cancel and disconnected: " + child.Value(ctxKey{}).(string) + detached.Value(ctxKey{}).(string))
		tr.add("missing value is nil: " + btoa(ctx.Value(ctxKey{}) == nil))

		cancelChild()
		tr.add("child: " + errString(child.Err()) + ", parent: " + errString(parent.Err()))
		cancelParent()
		cancelParent() // a second call does nothing
		tr.add("sibling after parent: " + errString(sibling.Err()))
		tr.add("disconnected: " + errString(detached.Err()))
		_, late := workflow.WithCancel(child) // derived from a canceled context: canceled at once
		late()
		lctx, _ := workflow.WithCancel(parent)
		tr.add("derived from canceled: " + errString(lctx.Err()))
		_, ok := detached.Done().ReceiveNonBlocking()
		tr.add("disconnected Done not closed: " + btoa(!ok))
		return tr, nil
	})
	assert.Equal(t, []string{
		"value through cancel and disconnected: vv",
		"missing value is nil: true",
		"child: canceled, parent: <nil>",
		"sibling after parent: canceled",
		"disconnected: <nil>",
		"derived from canceled: canceled",
		"disconnected Done not closed: true",
	}, enginetest.Result[[]string](r))
}
