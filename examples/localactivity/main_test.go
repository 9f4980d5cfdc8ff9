package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/tester"
)

func TestCheckout(t *testing.T) {
	tst := tester.NewWorkflowTester[string](Checkout, tester.WithTB(t))
	var p *Prices
	tst.OnActivity(p.Price, mock.Anything, "lamp").Return(1200, nil) // a local activity is mocked like any
	tst.RegisterActivity(Charge)
	tst.Execute("lamp", "  2 elm st")
	res, err := tst.WorkflowResult()
	require.NoError(t, err)
	assert.Equal(t, "charged 1200 cents, shipping to 2 ELM ST", res)
	tst.AssertExpectations(t)
}
