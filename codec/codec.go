// Package codec transforms encoded payloads, bytes to bytes: compression
// (Zstd), encryption with rotating keys (NewAESGCM), or any chain of them
// (Chain).
//
// A codec sits under the converter: the converter turns a Go value into
// bytes, then the codec turns those bytes into what is stored and sent.
// It is set once for a whole namespace with streams.WithCodec, so workers,
// clients, the web UI and wfctl all apply the same one. What a codec
// covers and what stays readable (names, IDs, kinds, search attributes) is
// described in docs/payloads.md.
package codec

import (
	"context"
	"fmt"
)

// Codec transforms payload bytes and back. Decode(Encode(p)) must give p
// back. Implementations must be safe for concurrent use.
type Codec interface {
	// Encode transforms a payload as it is stored or sent.
	Encode(ctx context.Context, data []byte) ([]byte, error)
	// Decode undoes Encode.
	Decode(ctx context.Context, data []byte) ([]byte, error)
}

// Chain applies codecs in order: Encode runs them left to right, Decode
// right to left, so Chain(Zstd(), enc) compresses and then encrypts, and
// decrypts and then decompresses. (Compress before you encrypt: ciphertext
// does not compress.) Nil codecs are skipped; Chain() changes nothing.
func Chain(cs ...Codec) Codec {
	var ch chain
	for _, c := range cs {
		if c != nil {
			ch = append(ch, c)
		}
	}
	return ch
}

type chain []Codec

func (ch chain) Encode(ctx context.Context, data []byte) ([]byte, error) {
	for i, c := range ch {
		var err error
		if data, err = c.Encode(ctx, data); err != nil {
			return nil, fmt.Errorf("codec: chain step %d of %d: %w", i+1, len(ch), err)
		}
	}
	return data, nil
}

func (ch chain) Decode(ctx context.Context, data []byte) ([]byte, error) {
	for i := len(ch) - 1; i >= 0; i-- {
		var err error
		if data, err = ch[i].Decode(ctx, data); err != nil {
			return nil, fmt.Errorf("codec: chain step %d of %d: %w", i+1, len(ch), err)
		}
	}
	return data, nil
}
