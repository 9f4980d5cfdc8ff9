package history

import (
	"github.com/vmihailenco/msgpack/v5"
)

// EncodeMsgpack writes an event exactly as msgpack's reflection would from
// the struct tags — the same map, keys in field order, empty optional
// fields left out, int64s in 9 bytes — without reflection, which cost a
// worker 5% of its CPU and an allocation per field list. A test pins it
// to the reflective encoding, field by field.
func (e *Event) EncodeMsgpack(enc *msgpack.Encoder) error {
	n := 2 // k and t are always there
	count := func(present bool) {
		if present {
			n++
		}
	}
	count(e.ID != 0)
	count(e.ScheduleID != 0)
	count(e.InboxID != "")
	count(e.ExecutionID != "")
	count(e.Name != "")
	count(e.Queue != "")
	count(e.InstanceID != "")
	count(len(e.Args) > 0)
	count(len(e.Result) > 0)
	count(e.Failure != nil)
	count(!e.FireAt.IsZero())
	count(e.Version != 0)
	count(e.Reason != "")
	count(e.Activity != nil)
	count(e.Parent != nil)
	count(e.ContinuedExecutionID != "")
	count(e.ParentClose != 0)
	count(e.Trace != nil)
	count(e.UpdateID != "")
	count(e.Run != nil)
	count(len(e.Memo) > 0)
	count(len(e.Header) > 0)
	count(len(e.SearchAttributes) > 0)
	count(e.Local != nil)

	w := eventWriter{enc: enc}
	w.err = enc.EncodeMapLen(n)
	w.key("k")
	if w.err == nil {
		w.err = enc.EncodeUint8(uint8(e.Kind))
	}
	if e.ID != 0 {
		w.key("i")
		w.int(e.ID)
	}
	if e.ScheduleID != 0 {
		w.key("s")
		w.int(e.ScheduleID)
	}
	w.key("t")
	if w.err == nil {
		w.err = enc.EncodeTime(e.Time)
	}
	w.str("m", e.InboxID)
	w.str("x", e.ExecutionID)
	w.str("n", e.Name)
	w.str("q", e.Queue)
	w.str("in", e.InstanceID)
	if len(e.Args) > 0 {
		w.key("a")
		if w.err == nil {
			w.err = enc.EncodeArrayLen(len(e.Args))
		}
		for _, a := range e.Args {
			if w.err == nil {
				w.err = enc.EncodeBytes(a)
			}
		}
	}
	if len(e.Result) > 0 {
		w.key("r")
		if w.err == nil {
			w.err = enc.EncodeBytes(e.Result)
		}
	}
	if e.Failure != nil {
		w.key("f")
		w.value(e.Failure)
	}
	if !e.FireAt.IsZero() {
		w.key("at")
		if w.err == nil {
			w.err = enc.EncodeTime(e.FireAt)
		}
	}
	if e.Version != 0 {
		// An int, unlike an int64, is written in its smallest form.
		w.key("v")
		if w.err == nil {
			w.err = enc.EncodeInt(int64(e.Version))
		}
	}
	w.str("re", e.Reason)
	if e.Activity != nil {
		w.key("ao")
		w.value(e.Activity)
	}
	if e.Parent != nil {
		w.key("p")
		w.value(e.Parent)
	}
	w.str("cx", e.ContinuedExecutionID)
	if e.ParentClose != 0 {
		w.key("pc")
		if w.err == nil {
			w.err = w.enc.EncodeUint8(uint8(e.ParentClose))
		}
	}
	w.str("upd", e.UpdateID)
	if e.Trace != nil {
		w.key("tc")
		w.value(e.Trace)
	}
	if e.Run != nil {
		w.key("tlrun")
		w.value(e.Run)
	}
	if len(e.Memo) > 0 {
		w.key("tlmemo")
		w.value(e.Memo)
	}
	if len(e.Header) > 0 {
		w.key("tlhdr")
		w.value(e.Header)
	}
	if len(e.SearchAttributes) > 0 {
		w.key("sa")
		w.value(e.SearchAttributes)
	}
	if e.Local != nil {
		w.key("la")
		w.value(e.Local)
	}
	return w.err
}

// eventWriter writes the fields of an event, keeping the first error.
type eventWriter struct {
	enc *msgpack.Encoder
	err error
}

func (w *eventWriter) key(k string) {
	if w.err == nil {
		w.err = w.enc.EncodeString(k)
	}
}

// int writes an int64 as msgpack's reflection does by default: always in
// the 9-byte form.
func (w *eventWriter) int(v int64) {
	if w.err == nil {
		w.err = w.enc.EncodeInt64(v)
	}
}

// str writes an optional string field.
func (w *eventWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	if w.err == nil {
		w.err = w.enc.EncodeString(v)
	}
}

// value writes a nested struct the reflective way; they are rare.
func (w *eventWriter) value(v any) {
	if w.err == nil {
		w.err = w.enc.Encode(v)
	}
}
