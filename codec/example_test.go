package codec_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jetflow/jetflow/codec"
)

func Example() {
	// In production the secrets come from a secret store.
	keyA := codec.Key{ID: "2026-01", Secret: []byte("0123456789abcdef0123456789abcdef")}
	enc, err := codec.NewAESGCM(keyA)
	if err != nil {
		panic(err)
	}
	c := codec.Chain(codec.Zstd(), enc) // compress, then encrypt
	// streams.New(nc, streams.WithCodec(c)) applies it to every payload.

	ctx := context.Background()
	stored, _ := c.Encode(ctx, []byte(`{"card":"4111 1111 1111 1111"}`))
	id, _ := codec.EncryptedKeyID(stored)
	plain, _ := c.Decode(ctx, stored)
	fmt.Println(id)
	fmt.Println(string(plain))
	// Output:
	// 2026-01
	// {"card":"4111 1111 1111 1111"}
}

func ExampleNewAESGCM_rotation() {
	ctx := context.Background()
	keyA := codec.Key{ID: "A", Secret: []byte("aaaaaaaaaaaaaaaa")}
	keyB := codec.Key{ID: "B", Secret: []byte("bbbbbbbbbbbbbbbb")}

	before, _ := codec.NewAESGCM(keyA)
	old, _ := before.Encode(ctx, []byte("written under A"))

	// Rotate: B encrypts from now on, A still decrypts what it wrote.
	after, _ := codec.NewAESGCM(keyB, keyA)
	plain, _ := after.Decode(ctx, old)
	fmt.Println(string(plain))

	// A codec that no longer holds A says which key it needs.
	onlyB, _ := codec.NewAESGCM(keyB)
	_, err := onlyB.Decode(ctx, old)
	var missing *codec.KeyNotFoundError
	if errors.As(err, &missing) {
		fmt.Println("needs key", missing.KeyID)
	}
	// Output:
	// written under A
	// needs key A
}
