package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/jetflow/jetflow/codec"
	"github.com/jetflow/jetflow/streams"
)

// The payload codec wfctl decodes with comes from the environment, so
// secrets stay out of shell history and process lists:
//
//	JETFLOW_CODEC_KEYS=/path/keys   a file of "ID base64-secret" lines; the
//	                                first is the current key, the others
//	                                decode only ('#' starts a comment)
//	JETFLOW_CODEC_ZSTD=1            payloads are compressed (before the
//	                                encryption, as codec.Chain(Zstd(), aes))
//
// Without the key a payload needs, wfctl shows "encrypted with key K".
const (
	envCodecKeys = "JETFLOW_CODEC_KEYS"
	envCodecZstd = "JETFLOW_CODEC_ZSTD"
)

// codecOptions are the backend options for the codec the environment
// configures: none when it configures nothing.
func codecOptions() ([]streams.Option, error) {
	c, err := codecFromEnv()
	if err != nil || c == nil {
		return nil, err
	}
	return []streams.Option{streams.WithCodec(c)}, nil
}

func codecFromEnv() (codec.Codec, error) {
	var chain []codec.Codec
	if v := os.Getenv(envCodecZstd); v != "" && v != "0" && v != "false" {
		chain = append(chain, codec.Zstd())
	}
	if path := os.Getenv(envCodecKeys); path != "" {
		keys, err := readKeyFile(path)
		if err != nil {
			return nil, err
		}
		enc, err := codec.NewAESGCM(keys[0], keys[1:]...)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", envCodecKeys, path, err)
		}
		chain = append(chain, enc)
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return codec.Chain(chain...), nil
}

// readKeyFile reads "ID base64-secret" lines.
func readKeyFile(path string) ([]codec.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envCodecKeys, err)
	}
	defer f.Close()
	var keys []codec.Key
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s %s line %d: want \"ID base64-secret\"", envCodecKeys, path, line)
		}
		secret, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s %s line %d: secret is not base64: %w", envCodecKeys, path, line, err)
		}
		keys = append(keys, codec.Key{ID: fields[0], Secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", envCodecKeys, path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s %s: no keys", envCodecKeys, path)
	}
	return keys, nil
}

// benchCodec is the codec wfctl bench --codec names, with a random key.
func benchCodec(name string) ([]streams.Option, error) {
	aes := func() (codec.Codec, error) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		return codec.NewAESGCM(codec.Key{ID: "bench", Secret: secret})
	}
	var c codec.Codec
	var err error
	switch name {
	case "", "none":
		return nil, nil
	case "zstd":
		c = codec.Zstd()
	case "aes":
		c, err = aes()
	case "zstd+aes":
		var enc codec.Codec
		if enc, err = aes(); err == nil {
			c = codec.Chain(codec.Zstd(), enc)
		}
	default:
		return nil, fmt.Errorf("unknown codec %q (none, zstd, aes, zstd+aes)", name)
	}
	if err != nil {
		return nil, err
	}
	return []streams.Option{streams.WithCodec(c)}, nil
}
