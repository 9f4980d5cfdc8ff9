package codec

import (
	"context"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxDecoded bounds what one payload may decompress to, so a small hostile
// payload cannot make a worker allocate without limit.
const maxDecoded = 1 << 30

// zstdCodec shares one encoder and one decoder among all callers: they are
// expensive to make, and their EncodeAll/DecodeAll are safe for concurrent
// use.
type zstdCodec struct{}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdCoders() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdEnc, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
		if zstdErr != nil {
			return
		}
		zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecoded))
	})
	return zstdEnc, zstdDec, zstdErr
}

// Zstd compresses payloads with Zstandard (github.com/klauspost/compress),
// at its default level. A payload that does not decompress (not Zstandard,
// damaged, or larger than 1 GiB decompressed) is an error.
func Zstd() Codec { return zstdCodec{} }

func (zstdCodec) Encode(_ context.Context, data []byte) ([]byte, error) {
	enc, _, err := zstdCoders()
	if err != nil {
		return nil, fmt.Errorf("codec: zstd: %w", err)
	}
	return enc.EncodeAll(data, make([]byte, 0, len(data)/2+16)), nil
}

func (zstdCodec) Decode(_ context.Context, data []byte) ([]byte, error) {
	_, dec, err := zstdCoders()
	if err != nil {
		return nil, fmt.Errorf("codec: zstd: %w", err)
	}
	out, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("codec: zstd: decompress %d bytes: %w", len(data), err)
	}
	return out, nil
}
