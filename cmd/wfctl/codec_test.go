package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jetflow/jetflow/codec"
)

func TestCodecFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	good := write("good", "# current first\nB YmJiYmJiYmJiYmJiYmJiYg==\nA YWFhYWFhYWFhYWFhYWFhYQ==\n")
	tests := []struct {
		name, keys, zstd, err string
		none                  bool
	}{
		{name: "nothing", none: true},
		{name: "zstd only", zstd: "1"},
		{name: "keys", keys: good},
		{name: "keys and zstd", keys: good, zstd: "true"},
		{name: "missing file", keys: filepath.Join(dir, "nope"), err: "no such file"},
		{name: "bad line", keys: write("bad", "A\n"), err: `line 1: want "ID base64-secret"`},
		{name: "bad base64", keys: write("b64", "A !!!\n"), err: "not base64"},
		{name: "short secret", keys: write("short", "A YWFh\n"), err: "secret is 3 bytes"},
		{name: "empty", keys: write("empty", "# nothing\n"), err: "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envCodecKeys, tt.keys)
			t.Setenv(envCodecZstd, tt.zstd)
			c, err := codecFromEnv()
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			if tt.none {
				assert.Nil(t, c)
				return
			}
			out, err := c.Encode(context.Background(), []byte("x"))
			require.NoError(t, err)
			if tt.keys != "" {
				id, ok := codec.EncryptedKeyID(out)
				assert.True(t, ok)
				assert.Equal(t, "B", id, "the first key is the current one")
			}
		})
	}
}
