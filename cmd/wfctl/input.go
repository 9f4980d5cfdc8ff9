package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/jetflow/jetflow/converter"
)

// parseInputs decodes the --input values of a command, one argument each.
func parseInputs(inputs []string) ([]any, error) {
	args := make([]any, len(inputs))
	for i, in := range inputs {
		v, err := parseArg(in)
		if err != nil {
			if len(inputs) > 1 {
				return nil, usageErrorf("--input #%d: %v", i+1, err)
			}
			return nil, usageErrorf("--input: %v", err)
		}
		args[i] = v
	}
	return args, nil
}

// parseArg decodes one --input value into the argument to send: an
// converter.JSONInput, which the workers decode into a struct by json tag or
// field name in any case, and with an error for a key that names no field.
func parseArg(s string) (any, error) {
	v, err := parseInput(s)
	if err != nil {
		return nil, err
	}
	return converter.JSONInput{Value: v}, nil
}

// parseInput decodes one --input value: JSON, or "@FILE" for JSON read
// from a file ("@-" for standard input).
//
// The result is what the workers' msgpack decoder turns into the workflow's
// Go parameter types: objects become maps with string keys (a struct
// parameter takes them by field, see converter.JSONInput), arrays slices, and numbers int64
// when they are whole (so they fit int and float parameters alike; uint64
// above int64's range) or float64 otherwise. msgpack decodes a float64 into
// no float32 field and a string into no time.Time: those parameters take
// only whole numbers, and no times, from the command line.
func parseInput(s string) (any, error) {
	data := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if name == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty input: give a JSON value, such as '\"text\"', '42' or '{\"Field\": 1}'")
		}
		return nil, fmt.Errorf("invalid JSON %s: %w", quoteInput(s), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid JSON %s: more than one value (wrap several in an array, or repeat --input for several arguments)", quoteInput(s))
	}
	return fromJSON(v)
}

// quoteInput shows an input in an error message.
func quoteInput(s string) string { return strconv.Quote(truncate(s, 60)) }

// fromJSON replaces the json.Numbers in v by int64, uint64 or float64.
func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return number(v)
	case map[string]any:
		for k, e := range v {
			c, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
	case []any:
		for i, e := range v {
			c, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
	}
	return v, nil
}

// number converts a JSON number. Whole numbers become integers, which
// msgpack decodes into int and float fields alike (a float would not
// decode into an int field); others become float64.
func number(n json.Number) (any, error) {
	s := string(n)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s is out of range", s)
	}
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f), nil
	}
	return f, nil
}
