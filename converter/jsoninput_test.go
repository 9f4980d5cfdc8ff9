package converter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/converter"
)

type payment struct {
	Amount   int    `json:"amount"`
	Currency string `json:"currency,omitempty"`
	PaidBy   string
	Note     string `msgpack:"n" json:"note"`
	Line     *paymentLine
	Lines    []paymentLine
	ByName   map[string]paymentLine
	Skipped  string `msgpack:"-"`
	Meta
}

type paymentLine struct {
	SKU string `json:"sku"`
	Qty int
}

// Meta is embedded, so msgpack inlines its fields.
type Meta struct {
	Source string `json:"source"`
}

func TestJSONInputReachesStructs(t *testing.T) {
	conv := converter.Msgpack{}
	decode := func(t *testing.T, v any) (payment, error) {
		t.Helper()
		data, err := conv.Encode(converter.JSONInput{Value: v})
		require.NoError(t, err)
		var p payment
		err = conv.Decode(data, &p)
		return p, err
	}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want payment
	}{
		{"json tag", map[string]any{"amount": int64(5), "currency": "EUR"}, payment{Amount: 5, Currency: "EUR"}},
		{"go name", map[string]any{"Amount": int64(5), "PaidBy": "ann"}, payment{Amount: 5, PaidBy: "ann"}},
		{"case ignored", map[string]any{"AMOUNT": int64(5), "paidby": "ann", "Currency": "EUR"}, payment{Amount: 5, PaidBy: "ann", Currency: "EUR"}},
		{"msgpack tag, then json tag", map[string]any{"n": "a"}, payment{Note: "a"}},
		{"json tag over msgpack tag", map[string]any{"note": "a"}, payment{Note: "a"}},
		{"nested", map[string]any{
			"line":   map[string]any{"SKU": "x", "qty": int64(2)},
			"lines":  []any{map[string]any{"sku": "y"}},
			"byname": map[string]any{"k": map[string]any{"Sku": "z"}},
		}, payment{Line: &paymentLine{SKU: "x", Qty: 2}, Lines: []paymentLine{{SKU: "y"}}, ByName: map[string]paymentLine{"k": {SKU: "z"}}}},
		{"embedded", map[string]any{"source": "cli"}, payment{Meta: Meta{Source: "cli"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode(t, tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	for _, tc := range []struct {
		name string
		in   map[string]any
		want string
	}{
		{"unknown key", map[string]any{"amount": int64(5), "amuont": int64(1)},
			`key "amuont" matches no field of converter_test.payment`},
		{"unknown nested key", map[string]any{"line": map[string]any{"sku": "x", "price": 1.5}},
			`key "price" matches no field of converter_test.paymentLine`},
		{"skipped field", map[string]any{"Skipped": "x"}, `key "Skipped" matches no field`},
		{"two keys, one field", map[string]any{"Amount": int64(1), "amount": int64(2)},
			`keys "Amount" and "amount" both name field Amount`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(t, tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Everything that is not a struct decodes as plain msgpack would, and a
// plain msgpack payload keeps msgpack's rules (an unknown key is skipped).
func TestJSONInputOtherTypes(t *testing.T) {
	conv := converter.Msgpack{}
	roundTrip := func(in, out any) {
		t.Helper()
		data, err := conv.Encode(converter.JSONInput{Value: in})
		require.NoError(t, err)
		require.NoError(t, conv.Decode(data, out))
	}
	var i int
	roundTrip(int64(42), &i)
	assert.Equal(t, 42, i)
	var s string
	roundTrip("text", &s)
	assert.Equal(t, "text", s)
	var d time.Duration
	roundTrip(int64(1500000000), &d)
	assert.Equal(t, 1500*time.Millisecond, d)
	var a any
	roundTrip(map[string]any{"x": []any{int64(1), 2.5}}, &a)
	assert.Equal(t, map[string]any{"x": []any{int64(1), 2.5}}, a)
	var xs []int
	roundTrip([]any{int64(1), int64(2)}, &xs)
	assert.Equal(t, []int{1, 2}, xs)
	// A large body takes a longer extension header.
	long := make([]any, 70000)
	for n := range long {
		long[n] = int64(n)
	}
	roundTrip(long, &xs)
	assert.Len(t, xs, 70000)

	data, err := conv.Encode(map[string]any{"Amount": 5, "Other": 1})
	require.NoError(t, err)
	var p payment
	require.NoError(t, conv.Decode(data, &p))
	assert.Equal(t, payment{Amount: 5}, p)
	_, ok := converter.JSONInputBody(data)
	assert.False(t, ok)
}
