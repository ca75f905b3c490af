// Package jsonscan is the project's one JSON scanner: it walks JSON text by
// byte index, without reflection and almost without allocation.
//
// Two uses share it. SkipSpace, SkipString and SkipValue walk text that
// encoding/json's Valid has already accepted: the gateway's frame decoder
// and the reference room module's relay splice members out of frames with
// them, on every frame; on anything else they return some index within
// len(b) and never panic. Object reads a flat object strictly, by RFC 8259,
// checking as it goes: the session package verifies access tokens' headers
// and claims with it, on every validation.
//
// The frame decoder is fuzzed against encoding/json (gateway's
// FuzzDecodeFrame), the token reader against golang-jwt's strictest parser
// (session's FuzzVerify and FuzzSignedJSON).
package jsonscan

import (
	"bytes"
	"encoding/json"
)

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// SkipString returns the index after the string that starts at b[i] ('"'),
// or len(b) if it does not end.
func SkipString(b []byte, i int) int {
	end, _ := scanString(b, i, false)
	return end
}

// scanString returns the index after the string that starts at b[i] ('"')
// and whether the string ends there. With strict, a control character
// (which JSON strings may not hold) ends the scan, not ok. Escapes are
// skipped, not checked.
func scanString(b []byte, i int, strict bool) (end int, ok bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			i++ // the escaped character cannot end the string
		case c == '"':
			return i + 1, true
		case strict && c < 0x20:
			return i, false
		}
	}
	return len(b), false
}

// SkipValue returns the index after the valid JSON value that starts at
// b[i].
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = SkipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // a number, true, false or null
		for ; i < len(b); i++ {
			switch b[i] {
			case ' ', '\t', '\r', '\n', ',', '}', ']':
				return i
			}
		}
		return i
	}
}

// Error is a reason Object or Text refuses its input. Its text is constant
// (it never quotes the input), so that callers may pass it on: a token's
// bytes never reach a log through it.
type Error string

func (e Error) Error() string { return string(e) }

// Object reads the members of one flat JSON object, strictly by RFC 8259,
// with no copying: the only values it accepts are strings and integers
// without sign, fraction or exponent. Anything else (another kind of value,
// a JSON syntax error, data after the object) is an Error. Duplicate names
// are the caller's to find. Make one with NewObject; it is not safe for
// concurrent use.
type Object struct {
	data   []byte
	pos    int
	opened bool // the '{' has been read
}

// NewObject returns an Object reading data.
func NewObject(data []byte) *Object { return &Object{data: data} }

// Next returns the next member of the object: its name, unescaped, and its
// value as raw JSON (a string with its quotes, or digits). After the last
// member it returns ok false, once it has checked that only whitespace
// follows the object.
func (o *Object) Next() (name, value []byte, ok bool, err error) {
	o.pos = SkipSpace(o.data, o.pos)
	switch {
	case !o.opened:
		if !o.eat('{') {
			return nil, nil, false, Error("not a JSON object")
		}
		o.opened = true
		o.pos = SkipSpace(o.data, o.pos)
		if o.eat('}') {
			return o.end()
		}
	case o.eat('}'):
		return o.end()
	case o.eat(','):
		o.pos = SkipSpace(o.data, o.pos)
	default:
		return nil, nil, false, Error("bad JSON")
	}
	raw, err := o.str()
	if err != nil {
		return nil, nil, false, err
	}
	if name, err = Text(raw); err != nil {
		return nil, nil, false, Error("bad JSON")
	}
	o.pos = SkipSpace(o.data, o.pos)
	if !o.eat(':') {
		return nil, nil, false, Error("bad JSON")
	}
	o.pos = SkipSpace(o.data, o.pos)
	if value, err = o.value(); err != nil {
		return nil, nil, false, err
	}
	return name, value, true, nil
}

// end checks that nothing but whitespace follows the object.
func (o *Object) end() (name, value []byte, ok bool, err error) {
	if SkipSpace(o.data, o.pos) != len(o.data) {
		return nil, nil, false, Error("data after the object")
	}
	return nil, nil, false, nil
}

// eat consumes c if it comes next.
func (o *Object) eat(c byte) bool {
	if o.pos < len(o.data) && o.data[o.pos] == c {
		o.pos++
		return true
	}
	return false
}

// str consumes a JSON string and returns it raw, quotes included. Its
// escapes are only skipped here: Text checks them as it decodes them.
func (o *Object) str() ([]byte, error) {
	if o.pos >= len(o.data) || o.data[o.pos] != '"' {
		return nil, Error("bad JSON")
	}
	end, ok := scanString(o.data, o.pos, true)
	if !ok {
		return nil, Error("bad JSON")
	}
	raw := o.data[o.pos:end]
	o.pos = end
	return raw, nil
}

// value consumes a string or an integer without sign, fraction or
// exponent, and returns it raw.
func (o *Object) value() ([]byte, error) {
	if o.pos == len(o.data) {
		return nil, Error("bad JSON")
	}
	switch c := o.data[o.pos]; {
	case c == '"':
		return o.str()
	case c == '0':
		// JSON has no leading zeros: what follows a 0 is a fraction, an
		// exponent or the end of the number, and Next checks for the end.
		o.pos++
		return o.data[o.pos-1 : o.pos], nil
	case '1' <= c && c <= '9':
		start := o.pos
		for o.pos < len(o.data) && '0' <= o.data[o.pos] && o.data[o.pos] <= '9' {
			o.pos++
		}
		return o.data[start:o.pos], nil
	default:
		return nil, Error("value neither a string nor an integer")
	}
}

// Text returns the text of v, a raw JSON string, unescaped: a slice of v
// itself when it has no escapes (the common case), else a fresh copy. An
// invalid escape is an Error.
func Text(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, Error("not a string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, Error("not a string")
	}
	return []byte(s), nil
}
