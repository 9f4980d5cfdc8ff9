package codec

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Key is an encryption key and the ID it is known by. The ID is stored in
// the clear with every payload encrypted under the key, so a codec that
// holds several keys knows which one to decrypt with: keys rotate by
// making a new one current and keeping the old ones for decoding.
type Key struct {
	// ID names the key: 1 to 255 bytes of UTF-8 without control
	// characters, stored in the clear (never derive it from the secret).
	ID string
	// Secret is the AES key: 16, 24 or 32 bytes (AES-128, -192, -256).
	Secret []byte
}

// Validate reports what is wrong with k, if anything.
func (k Key) Validate() error {
	if k.ID == "" {
		return errors.New("codec: key has no ID")
	}
	if len(k.ID) > 255 {
		return fmt.Errorf("codec: key ID %.20q… is %d bytes, at most 255", k.ID, len(k.ID))
	}
	if !utf8.ValidString(k.ID) {
		return fmt.Errorf("codec: key ID %q is not valid UTF-8", k.ID)
	}
	for _, r := range k.ID {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("codec: key ID %q holds a control character", k.ID)
		}
	}
	switch len(k.Secret) {
	case 16, 24, 32:
		return nil
	default:
		return fmt.Errorf("codec: key %q: secret is %d bytes, want 16, 24 or 32", k.ID, len(k.Secret))
	}
}

// ErrKeyNotFound matches (errors.Is) every *KeyNotFoundError.
var ErrKeyNotFound = errors.New("codec: key not found")

// KeyNotFoundError is the error of decoding a payload encrypted with a key
// the codec does not hold. KeyID names the key it needs.
type KeyNotFoundError struct {
	KeyID string
}

func (e *KeyNotFoundError) Error() string {
	return fmt.Sprintf("codec: payload is encrypted with key %q, which this codec does not hold", e.KeyID)
}

// Is makes errors.Is(err, ErrKeyNotFound) true.
func (e *KeyNotFoundError) Is(target error) bool { return target == ErrKeyNotFound }

// ErrNotEncrypted is returned (wrapped) when an AES-GCM codec is asked to
// decode bytes it did not encrypt.
var ErrNotEncrypted = errors.New("codec: not an AES-GCM payload")

// ErrDecrypt is returned (wrapped) for a payload whose key is known but
// that does not decrypt: damaged, or changed after it was encrypted.
var ErrDecrypt = errors.New("codec: payload does not decrypt")

// The layout of an encrypted payload:
//
//	"jfe1" | len(keyID) (1 byte) | keyID | nonce (12 bytes) | ciphertext and tag
//
// Magic and key ID are authenticated as additional data, so a payload's
// key ID cannot be changed without the decryption failing.
var aesMagic = []byte("jfe1")

type aesGCM struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewAESGCM returns a codec that encrypts with AES-GCM under current, with
// a random nonce per payload, and decrypts payloads made under current or
// any of older. Each payload carries its key's ID, so rotating keys is:
// make the new key current, keep the old ones as older until no stored
// payload needs them. Decoding a payload whose key is not held fails with
// a *KeyNotFoundError naming it.
func NewAESGCM(current Key, older ...Key) (Codec, error) {
	c := &aesGCM{current: current.ID, aeads: make(map[string]cipher.AEAD, 1+len(older))}
	for _, k := range append([]Key{current}, older...) {
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key ID %q given twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

func (c *aesGCM) Encode(_ context.Context, data []byte) ([]byte, error) {
	aead := c.aeads[c.current]
	hdr := len(aesMagic) + 1 + len(c.current)
	out := make([]byte, hdr+aead.NonceSize(), hdr+aead.NonceSize()+len(data)+aead.Overhead())
	copy(out, aesMagic)
	out[len(aesMagic)] = byte(len(c.current))
	copy(out[len(aesMagic)+1:], c.current)
	nonce := out[hdr:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("codec: nonce: %w", err)
	}
	return aead.Seal(out, nonce, data, out[:hdr]), nil
}

func (c *aesGCM) Decode(_ context.Context, data []byte) ([]byte, error) {
	id, hdr, ok := parseHeader(data)
	if !ok {
		return nil, fmt.Errorf("%w (%d bytes without its header)", ErrNotEncrypted, len(data))
	}
	aead, ok := c.aeads[id]
	if !ok {
		return nil, &KeyNotFoundError{KeyID: id}
	}
	if len(data) < hdr+aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: key %q: %d bytes is too short", ErrDecrypt, id, len(data))
	}
	nonce := data[hdr : hdr+aead.NonceSize()]
	out, err := aead.Open(nil, nonce, data[hdr+aead.NonceSize():], data[:hdr])
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %v", ErrDecrypt, id, err)
	}
	return out, nil
}

// parseHeader reads the key ID of an encrypted payload and the header's
// length.
func parseHeader(data []byte) (id string, n int, ok bool) {
	if len(data) < len(aesMagic)+1 || !bytes.Equal(data[:len(aesMagic)], aesMagic) {
		return "", 0, false
	}
	l := int(data[len(aesMagic)])
	n = len(aesMagic) + 1 + l
	if l == 0 || len(data) < n {
		return "", 0, false
	}
	return string(data[len(aesMagic)+1 : n]), n, true
}

// EncryptedKeyID reports the ID of the key a payload made by an AES-GCM
// codec was encrypted with, without decrypting it: for tools that show
// "encrypted with key K" where they have no key. ok is false for bytes
// that do not start with an AES-GCM header.
func EncryptedKeyID(data []byte) (id string, ok bool) {
	id, _, ok = parseHeader(data)
	return id, ok
}
