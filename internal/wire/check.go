// Package wire guards jetflow's msgpack decoding against hostile input.
//
// msgpack announces the length of every array, map, string and binary value
// before its contents, and the decoder trusts it: a message of a few bytes
// can announce four billion elements and make the decoder allocate them, or
// nest arrays a million deep and exhaust the stack. Check walks the bytes
// first, without allocating, and refuses such input, so every decoder in
// jetflow can be fed any message from the network.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxDepth is how deeply arrays and maps may nest in a message. jetflow's
// own encodings nest a handful of levels; user payloads are opaque bytes.
const MaxDepth = 64

// ErrMalformed is returned (wrapped) for input that is not one well-formed
// msgpack value.
var ErrMalformed = errors.New("malformed msgpack")

// Check reports whether b is exactly one well-formed msgpack value whose
// declared lengths fit in b and whose nesting stays within MaxDepth.
func Check(b []byte) error {
	// pending[i] is how many values the open container at depth i still
	// holds; the bottom entry stands for the single top-level value.
	var stack [MaxDepth + 1]uint64
	depth := 0
	stack[0] = 1
	pos := 0
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			break
		}
		stack[depth]--
		if pos >= len(b) {
			return fmt.Errorf("%w: truncated at byte %d", ErrMalformed, pos)
		}
		c := b[pos]
		pos++
		var (
			skip  uint64 // bytes of payload to step over
			items uint64 // values inside a container
			isCon bool
		)
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			// fixint, nil, bool: the byte is the value
		case c >= 0x80 && c <= 0x8f:
			items, isCon = 2*uint64(c&0x0f), true
		case c >= 0x90 && c <= 0x9f:
			items, isCon = uint64(c&0x0f), true
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9: // bin8, str8
			n, err := readLen(b, &pos, 1)
			if err != nil {
				return err
			}
			skip = n
		case c == 0xc5 || c == 0xda: // bin16, str16
			n, err := readLen(b, &pos, 2)
			if err != nil {
				return err
			}
			skip = n
		case c == 0xc6 || c == 0xdb: // bin32, str32
			n, err := readLen(b, &pos, 4)
			if err != nil {
				return err
			}
			skip = n
		case c >= 0xc7 && c <= 0xc9: // ext8/16/32: length, type byte, data
			n, err := readLen(b, &pos, 1<<(c-0xc7))
			if err != nil {
				return err
			}
			skip = n + 1
		case c == 0xca:
			skip = 4
		case c == 0xcb:
			skip = 8
		case c >= 0xcc && c <= 0xcf: // uint8..64
			skip = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3: // int8..64
			skip = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8: // fixext: type byte and 1..16 bytes
			skip = 1 + 1<<(c-0xd4)
		case c == 0xdc || c == 0xde: // array16, map16
			n, err := readLen(b, &pos, 2)
			if err != nil {
				return err
			}
			items, isCon = n, true
			if c == 0xde {
				items *= 2
			}
		case c == 0xdd || c == 0xdf: // array32, map32
			n, err := readLen(b, &pos, 4)
			if err != nil {
				return err
			}
			items, isCon = n, true
			if c == 0xdf {
				items *= 2
			}
		default: // 0xc1 is never used
			return fmt.Errorf("%w: invalid byte 0x%02x at %d", ErrMalformed, c, pos-1)
		}
		if skip > uint64(len(b)-pos) {
			return fmt.Errorf("%w: value at byte %d runs past the end", ErrMalformed, pos-1)
		}
		pos += int(skip)
		if isCon && items > 0 {
			// Every value takes at least one byte.
			if items > uint64(len(b)-pos) {
				return fmt.Errorf("%w: container at byte %d announces %d values in %d bytes", ErrMalformed, pos-1, items, len(b)-pos)
			}
			if depth+1 > MaxDepth {
				return fmt.Errorf("%w: nested deeper than %d", ErrMalformed, MaxDepth)
			}
			depth++
			stack[depth] = items
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%w: %d bytes after the value", ErrMalformed, len(b)-pos)
	}
	return nil
}

func readLen(b []byte, pos *int, size int) (uint64, error) {
	if len(b)-*pos < size {
		return 0, fmt.Errorf("%w: truncated length at byte %d", ErrMalformed, *pos)
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[*pos])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b[*pos:]))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b[*pos:]))
	}
	*pos += size
	return n, nil
}
