package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
)

func TestNotify(t *testing.T) {
	tst := tester.NewWorkflowTester[[]string](Notify, tester.WithTB(t))
	tst.RegisterActivity(&Email{}, tester.WithNamePrefix("email."))
	tst.RegisterActivity(&SMS{}, tester.WithNamePrefix("sms."))
	tst.RegisterDynamicActivity(Hook)
	tst.Execute("ann", []string{"hook.audit"})
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, []string{"email to ann", "sms to ann", `hook audit got "ann"`}, res)
}
