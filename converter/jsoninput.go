package converter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/jetflow/jetflow/internal/wire"
)

// JSONInput is an argument or signal value that a person typed as JSON
// without the Go type at hand (wfctl's --input): Value holds the decoded
// JSON (maps with string keys, slices, strings, booleans, nil, and numbers
// as int64, uint64 or float64).
//
// Msgpack stores it as a msgpack extension (type jsonInputExt)
// around Value's msgpack encoding, and decodes it into the receiving Go
// type as it decodes plain msgpack, except that an object reaches a struct
// the way people write JSON: a key names a field by its msgpack name (the
// Go name unless a msgpack tag says otherwise), else by its json tag, else
// by its Go name or json tag ignoring case; and a key that names no field
// is an error naming the key and the struct type, not a silently zero
// field. Payloads from Go code are not affected: they keep msgpack's own
// rules, under which an unknown key is skipped (so an older worker can
// read a newer struct).
type JSONInput struct {
	Value any
}

// jsonInputExt is the msgpack extension type of a JSONInput.
const jsonInputExt int8 = 'J'

// EncodeMsgpack writes the extension: its body is Value in msgpack.
func (in JSONInput) EncodeMsgpack(enc *msgpack.Encoder) error {
	body, err := msgpack.Marshal(in.Value)
	if err != nil {
		return err
	}
	if err := enc.EncodeExtHeader(jsonInputExt, len(body)); err != nil {
		return err
	}
	_, err = enc.Writer().Write(body)
	return err
}

// JSONInputBody returns the msgpack body of a payload that is a JSONInput,
// and false for any other payload. Code that decodes payloads without a Go
// type (for display) decodes the body in place of the payload.
func JSONInputBody(data []byte) ([]byte, bool) {
	if len(data) < 3 {
		return nil, false
	}
	var n, head int
	switch c := data[0]; {
	case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16
		n, head = 1<<(c-0xd4), 2
	case c == 0xc7:
		n, head = int(data[1]), 3
	case c == 0xc8 && len(data) >= 4:
		n, head = int(binary.BigEndian.Uint16(data[1:3])), 4
	case c == 0xc9 && len(data) >= 6:
		n, head = int(binary.BigEndian.Uint32(data[1:5])), 6
	default:
		return nil, false
	}
	if int8(data[head-1]) != jsonInputExt || len(data)-head != n {
		return nil, false
	}
	return data[head:], true
}

// decodeJSONInput decodes the body of a JSONInput into v, a non-nil
// pointer: the value's object keys are first matched to the fields of the
// structs v holds (conformKeys), then the result is decoded with msgpack.
func decodeJSONInput(body []byte, v any) error {
	if err := wire.Check(body); err != nil {
		return err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(body))
	dec.UseLooseInterfaceDecoding(true)
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	raw, err := dec.DecodeInterfaceLoose()
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode into %T: not a non-nil pointer", v)
	}
	conformed, err := conformKeys(raw, rv.Type().Elem())
	if err != nil {
		return err
	}
	data, err := msgpack.Marshal(conformed)
	if err != nil {
		return err
	}
	return msgpack.Unmarshal(data, v)
}

var (
	msgpackDecoderType = reflect.TypeFor[msgpack.CustomDecoder]()
	msgpackUnmarshaler = reflect.TypeFor[msgpack.Unmarshaler]()
)

// conformKeys returns v with the keys of the objects that reach a struct
// of t renamed to the fields' msgpack names, or an error for a key that
// names no field (or two keys that name the same one).
func conformKeys(v any, t reflect.Type) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(msgpackDecoderType) || reflect.PointerTo(t).Implements(msgpackUnmarshaler) {
		return v, nil // decodes itself: its keys are its own business
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[any]any)
		if !ok {
			if sm, isMap := v.(map[string]any); isMap {
				m = make(map[any]any, len(sm))
				for k, e := range sm {
					m[k] = e
				}
			} else {
				return v, nil // not an object: msgpack reports the mismatch
			}
		}
		fields := structFields(t)
		keys := make([]string, 0, len(m))
		byKey := make(map[string]any, len(m))
		for k, e := range m {
			key := fmt.Sprint(k)
			keys = append(keys, key)
			byKey[key] = e
		}
		slices.Sort(keys) // errors name the same keys every time
		out := make(map[string]any, len(m))
		from := make(map[string]string, len(m))
		for _, key := range keys {
			e := byKey[key]
			f := matchField(fields, key)
			if f == nil {
				return nil, fmt.Errorf("key %q matches no field of %s (fields: %s)", key, t, fieldNames(fields))
			}
			if prev, dup := from[f.name]; dup {
				return nil, fmt.Errorf("keys %q and %q both name field %s of %s", prev, key, f.goName, t)
			}
			c, err := conformKeys(e, f.typ)
			if err != nil {
				return nil, err
			}
			out[f.name], from[f.name] = c, key
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		s, ok := v.([]any)
		if !ok {
			return v, nil
		}
		out := make([]any, len(s))
		for i, e := range s {
			c, err := conformKeys(e, t.Elem())
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		m, ok := v.(map[any]any)
		if !ok {
			return v, nil
		}
		out := make(map[any]any, len(m))
		for k, e := range m {
			c, err := conformKeys(e, t.Elem())
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}

// structField is a field as msgpack names it, with the names JSON may use.
type structField struct {
	name     string // msgpack's key
	goName   string
	jsonName string // "" without a json tag name
	typ      reflect.Type
}

// structFields lists the fields msgpack decodes into t, following its
// rules: exported fields, the msgpack tag's name or the Go name, "-"
// skipped, embedded structs without a tag name inlined.
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("msgpack")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (f.PkgPath != "" && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && !strings.Contains(opts, "noinline") {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, structFields(et)...)
				continue
			}
		}
		if f.PkgPath != "" {
			continue
		}
		sf := structField{name: name, goName: f.Name, typ: f.Type}
		if sf.name == "" {
			sf.name = f.Name
		}
		if jn, _, _ := strings.Cut(f.Tag.Get("json"), ","); jn != "-" {
			sf.jsonName = jn
		}
		out = append(out, sf)
	}
	return out
}

// matchField finds the field key names: by msgpack name, then json tag,
// then Go name or json tag ignoring case.
func matchField(fields []structField, key string) *structField {
	for i := range fields {
		if fields[i].name == key {
			return &fields[i]
		}
	}
	for i := range fields {
		if fields[i].jsonName == key {
			return &fields[i]
		}
	}
	for i := range fields {
		f := &fields[i]
		if strings.EqualFold(f.goName, key) || strings.EqualFold(f.name, key) ||
			(f.jsonName != "" && strings.EqualFold(f.jsonName, key)) {
			return f
		}
	}
	return nil
}

func fieldNames(fields []structField) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
		if f.jsonName != "" && f.jsonName != f.name {
			names[i] += " (json " + f.jsonName + ")"
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
