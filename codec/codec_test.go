package codec_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/codec"
)

func key(id string, n int) codec.Key {
	return codec.Key{ID: id, Secret: bytes.Repeat([]byte{byte(len(id) + n)}, n)}
}

func mustAES(t *testing.T, current codec.Key, older ...codec.Key) codec.Codec {
	t.Helper()
	c, err := codec.NewAESGCM(current, older...)
	require.NoError(t, err)
	return c
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	aes128 := mustAES(t, key("k128", 16))
	aes256 := mustAES(t, key("k256", 32))
	payloads := map[string][]byte{
		"empty":      {},
		"one byte":   {0x01},
		"text":       []byte("card 4111-1111-1111-1111"),
		"repetitive": bytes.Repeat([]byte("abcdefgh"), 100_000),
	}
	codecs := map[string]codec.Codec{
		"empty chain":  codec.Chain(),
		"zstd":         codec.Zstd(),
		"aes-128":      aes128,
		"aes-256":      aes256,
		"zstd+aes":     codec.Chain(codec.Zstd(), aes256),
		"aes+zstd":     codec.Chain(aes128, codec.Zstd()),
		"nil skipped":  codec.Chain(nil, codec.Zstd(), nil),
		"nested chain": codec.Chain(codec.Chain(codec.Zstd()), codec.Chain(aes128, aes256)),
	}
	for cname, c := range codecs {
		for pname, p := range payloads {
			t.Run(cname+"/"+pname, func(t *testing.T) {
				enc, err := c.Encode(ctx, p)
				require.NoError(t, err)
				dec, err := c.Decode(ctx, enc)
				require.NoError(t, err)
				assert.Equal(t, len(p), len(dec))
				assert.True(t, bytes.Equal(p, dec), "decoded bytes differ")
			})
		}
	}
}

func TestChainOrder(t *testing.T) {
	ctx := context.Background()
	enc := mustAES(t, key("a", 16))
	p := bytes.Repeat([]byte("compressible "), 10_000)
	out, err := codec.Chain(codec.Zstd(), enc).Encode(ctx, p)
	require.NoError(t, err)
	id, ok := codec.EncryptedKeyID(out)
	require.True(t, ok, "the last codec of the chain (encryption) is the outermost")
	assert.Equal(t, "a", id)
	assert.Less(t, len(out), len(p)/10, "compressed before it was encrypted")

	// Decoding goes right to left: the encrypted, compressed bytes decode
	// with the same chain and fail with the chain reversed.
	_, err = codec.Chain(enc, codec.Zstd()).Decode(ctx, out)
	assert.Error(t, err)
}

func TestZstdCompresses(t *testing.T) {
	p := bytes.Repeat([]byte(`{"sku":"A-1","qty":1}`), 5000)
	out, err := codec.Zstd().Encode(context.Background(), p)
	require.NoError(t, err)
	assert.Less(t, len(out), len(p)/20)
}

func TestZstdRejectsGarbage(t *testing.T) {
	_, err := codec.Zstd().Decode(context.Background(), []byte("not zstd at all"))
	assert.ErrorContains(t, err, "zstd")
}

func TestZstdConcurrent(t *testing.T) {
	// The shared encoder and decoder serve many goroutines at once.
	c := codec.Zstd()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p := bytes.Repeat([]byte{byte(i)}, 10_000+i)
			for range 50 {
				out, err := c.Encode(context.Background(), p)
				if !assert.NoError(t, err) {
					return
				}
				back, err := c.Decode(context.Background(), out)
				if !assert.NoError(t, err) || !assert.True(t, bytes.Equal(p, back)) {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestKeyValidation(t *testing.T) {
	tests := []struct {
		name string
		key  codec.Key
		want string // "" = valid
	}{
		{"aes-128", key("k", 16), ""},
		{"aes-192", key("k", 24), ""},
		{"aes-256", key("k", 32), ""},
		{"short secret", key("k", 15), "secret is 15 bytes, want 16, 24 or 32"},
		{"long secret", key("k", 33), "secret is 33 bytes"},
		{"no secret", codec.Key{ID: "k"}, "secret is 0 bytes"},
		{"no ID", codec.Key{Secret: make([]byte, 16)}, "key has no ID"},
		{"long ID", codec.Key{ID: strings.Repeat("x", 256), Secret: make([]byte, 16)}, "at most 255"},
		{"control character", codec.Key{ID: "a\nb", Secret: make([]byte, 16)}, "control character"},
		{"invalid UTF-8", codec.Key{ID: "\xff", Secret: make([]byte, 16)}, "not valid UTF-8"},
		{"255-byte ID", codec.Key{ID: strings.Repeat("x", 255), Secret: make([]byte, 16)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.key.Validate()
			_, newErr := codec.NewAESGCM(tt.key)
			if tt.want == "" {
				assert.NoError(t, err)
				assert.NoError(t, newErr)
				return
			}
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, newErr, tt.want)
		})
	}
	_, err := codec.NewAESGCM(key("k", 16), key("ok", 16), key("k", 32))
	assert.ErrorContains(t, err, `key ID "k" given twice`)
	_, err = codec.NewAESGCM(key("k", 16), key("bad", 5))
	assert.ErrorContains(t, err, "secret is 5 bytes", "older keys are validated too")
}

func TestAESGCMRotation(t *testing.T) {
	ctx := context.Background()
	a, b := key("A", 32), key("B", 32)
	p := []byte("customer 42, iban DE00 1234")

	underA, err := mustAES(t, a).Encode(ctx, p)
	require.NoError(t, err)

	// Switch to B, keep A for decoding: old payloads still decode, new
	// ones are made under B.
	rotated := mustAES(t, b, a)
	back, err := rotated.Decode(ctx, underA)
	require.NoError(t, err)
	assert.Equal(t, p, back)
	underB, err := rotated.Encode(ctx, p)
	require.NoError(t, err)
	id, ok := codec.EncryptedKeyID(underB)
	require.True(t, ok)
	assert.Equal(t, "B", id)

	// Without A: an error naming A.
	withoutA := mustAES(t, b)
	_, err = withoutA.Decode(ctx, underA)
	var knf *codec.KeyNotFoundError
	require.ErrorAs(t, err, &knf)
	assert.Equal(t, "A", knf.KeyID)
	assert.ErrorIs(t, err, codec.ErrKeyNotFound)
	assert.ErrorContains(t, err, `key "A"`)
	// and through a chain, still matchable
	_, err = codec.Chain(codec.Zstd(), withoutA).Decode(ctx, underA)
	require.ErrorAs(t, err, &knf)
	assert.Equal(t, "A", knf.KeyID)
}

func TestAESGCMBadInput(t *testing.T) {
	ctx := context.Background()
	k := key("K", 16)
	c := mustAES(t, k)
	good, err := c.Encode(ctx, []byte("secret value"))
	require.NoError(t, err)

	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		data []byte
		is   error
	}{
		{"plain bytes", []byte("secret value"), codec.ErrNotEncrypted},
		{"empty", nil, codec.ErrNotEncrypted},
		{"header only", good[:6], codec.ErrDecrypt},
		{"truncated", good[:len(good)-1], codec.ErrDecrypt},
		{"ciphertext changed", flip(len(good) - 1), codec.ErrDecrypt},
		{"nonce changed", flip(6), codec.ErrDecrypt},
		{"zero-length key ID", append([]byte("jfe1\x00"), good[6:]...), codec.ErrNotEncrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode(ctx, tt.data)
			assert.ErrorIs(t, err, tt.is)
		})
	}

	// A key ID changed in the header is not decrypted with the other key:
	// the ID is authenticated.
	other := mustAES(t, codec.Key{ID: "L", Secret: k.Secret}, k)
	renamed := bytes.Clone(good)
	renamed[5] = 'L'
	_, err = other.Decode(ctx, renamed)
	assert.ErrorIs(t, err, codec.ErrDecrypt)
}

func TestAESGCMRandomNonce(t *testing.T) {
	c := mustAES(t, key("K", 16))
	p := []byte("same input")
	x, err := c.Encode(context.Background(), p)
	require.NoError(t, err)
	y, err := c.Encode(context.Background(), p)
	require.NoError(t, err)
	assert.NotEqual(t, x, y, "equal inputs encrypt differently")
	assert.False(t, bytes.Contains(x, p))
}

func TestEncryptedKeyID(t *testing.T) {
	_, ok := codec.EncryptedKeyID([]byte("plain"))
	assert.False(t, ok)
	_, ok = codec.EncryptedKeyID(nil)
	assert.False(t, ok)
	_, ok = codec.EncryptedKeyID([]byte("jfe1\x05ab"))
	assert.False(t, ok, "a header cut short")
	assert.True(t, errors.Is(&codec.KeyNotFoundError{KeyID: "x"}, codec.ErrKeyNotFound))
}
