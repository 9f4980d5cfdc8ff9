package streams

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeInstanceID(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		want    string // expected token; empty when an error is expected
		wantErr string
	}{
		{name: "plain", id: "order-42", want: "order-42"},
		{name: "underscore and digits", id: "A_b_9", want: "A_b_9"},
		{name: "dot is encoded", id: "a.b", want: "=" + "YS5i"},
		{name: "wildcards are encoded", id: "a*>", want: "=YSo-"},
		{name: "space is encoded", id: "my order", want: "=bXkgb3JkZXI"},
		{name: "unicode is encoded", id: "commande-é", want: "=Y29tbWFuZGUtw6k"},
		{name: "leading marker is encoded", id: "=x", want: "=PXg"},
		{name: "empty", id: "", wantErr: "instance ID is empty"},
		{name: "too long", id: strings.Repeat("a", MaxInstanceIDLength+1), wantErr: "256 bytes long, the limit is 255"},
		{name: "longest allowed", id: strings.Repeat("a", MaxInstanceIDLength), want: strings.Repeat("a", MaxInstanceIDLength)},
		{name: "invalid UTF-8", id: "a\xffb", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeInstanceID(tt.id)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrInvalidName), "error %v should wrap ErrInvalidName", err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			back, err := DecodeToken(got)
			require.NoError(t, err)
			assert.Equal(t, tt.id, back)
		})
	}
}

func TestEncodeQueue(t *testing.T) {
	got, err := EncodeQueue("billing")
	require.NoError(t, err)
	assert.Equal(t, "billing", got)

	got, err = EncodeQueue("eu.billing")
	require.NoError(t, err)
	assert.NotContains(t, got, ".")

	_, err = EncodeQueue(strings.Repeat("q", MaxQueueLength+1))
	require.ErrorIs(t, err, ErrInvalidName)
	assert.Contains(t, err.Error(), "queue name")

	_, err = EncodeQueue("")
	require.ErrorIs(t, err, ErrInvalidName)
}

func TestDecodeTokenErrors(t *testing.T) {
	tests := []struct {
		name, tok, wantErr string
	}{
		{"empty", "", "empty token"},
		{"raw with a dot", "a.b", "characters a raw token cannot have"},
		{"bad base64", "=!!", "illegal base64"},
		{"encodes a plain name", "=YWJj", "not a canonical encoding"}, // "abc"
		{"encodes nothing", "=", "not a canonical encoding"},
		{"encodes invalid UTF-8", "=_w", "not a canonical encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeToken(tt.tok)
			require.ErrorIs(t, err, ErrInvalidName)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestNamespaceValidation(t *testing.T) {
	for _, ns := range []string{"default", "orders", "team_a-1"} {
		assert.NoError(t, checkNamespace(ns), ns)
	}
	for _, ns := range []string{"", "a.b", "a b", "ä", strings.Repeat("n", MaxNamespaceLength+1)} {
		err := checkNamespace(ns)
		assert.ErrorIs(t, err, ErrInvalidName, "namespace %q", ns)
	}
}

func TestInboxInstance(t *testing.T) {
	n := names{ns: "orders"}
	tok, ok := n.inboxInstance(n.inbox("default", "=YS5i"))
	require.True(t, ok)
	assert.Equal(t, "=YS5i", tok)
	for _, subj := range []string{"wft.orders.s.a.b.1", "wft.other.q.default.x", "wft.orders.q.default", "wfh.orders.q.default.x"} {
		_, ok := n.inboxInstance(subj)
		assert.False(t, ok, subj)
	}
}

// FuzzTokenRoundTrip checks that every valid name encodes to a token made of
// subject-safe characters and decodes back to itself, and that decoding any
// string either fails or yields a name that encodes back to the same token.
func FuzzTokenRoundTrip(f *testing.F) {
	for _, s := range []string{"order-42", "a.b", "", "=x", "é", "a*>", " ", "\x00", "=YWJj"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := EncodeInstanceID(s)
		if err == nil {
			if tok == "" || strings.ContainsAny(tok, ".*> \t\r\n") {
				t.Fatalf("token %q of %q is not subject-safe", tok, s)
			}
			back, err := DecodeToken(tok)
			if err != nil || back != s {
				t.Fatalf("round trip of %q: got %q, %v", s, back, err)
			}
		}
		if name, err := DecodeToken(s); err == nil {
			if again := encodeToken(name); again != s {
				t.Fatalf("token %q decodes to %q, which encodes to %q", s, name, again)
			}
		}
	})
}
