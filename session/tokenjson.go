package session

import (
	"bytes"
	"encoding/json"

	"github.com/google/uuid"
)

// jsonObject reads the members of one JSON object, strictly by RFC 8259,
// with no copying: the only values it accepts are those a token of ours
// holds, strings and integers without sign, fraction or exponent. Anything
// else (another kind of value, a JSON syntax error, data after the object)
// is an error of constant text. Duplicate names are the caller's to find.
type jsonObject struct {
	data   []byte
	pos    int
	opened bool // the '{' has been read
}

// next returns the next member of the object: its name, unescaped, and its
// value as raw JSON (a string with its quotes, or digits). After the last
// member it returns ok false, once it has checked that only whitespace
// follows the object.
func (o *jsonObject) next() (name, value []byte, ok bool, err error) {
	o.space()
	switch {
	case !o.opened:
		if !o.eat('{') {
			return nil, nil, false, tokenError("not a JSON object")
		}
		o.opened = true
		o.space()
		if o.eat('}') {
			return o.end()
		}
	case o.eat('}'):
		return o.end()
	case o.eat(','):
		o.space()
	default:
		return nil, nil, false, tokenError("bad JSON")
	}
	raw, err := o.str()
	if err != nil {
		return nil, nil, false, err
	}
	if name, err = jsonText(raw); err != nil {
		return nil, nil, false, tokenError("bad JSON")
	}
	o.space()
	if !o.eat(':') {
		return nil, nil, false, tokenError("bad JSON")
	}
	o.space()
	if value, err = o.value(); err != nil {
		return nil, nil, false, err
	}
	return name, value, true, nil
}

// end checks that nothing but whitespace follows the object.
func (o *jsonObject) end() (name, value []byte, ok bool, err error) {
	o.space()
	if o.pos != len(o.data) {
		return nil, nil, false, tokenError("data after the object")
	}
	return nil, nil, false, nil
}

// space skips JSON whitespace.
func (o *jsonObject) space() {
	for o.pos < len(o.data) {
		switch o.data[o.pos] {
		case ' ', '\t', '\n', '\r':
			o.pos++
		default:
			return
		}
	}
}

// eat consumes c if it comes next.
func (o *jsonObject) eat(c byte) bool {
	if o.pos < len(o.data) && o.data[o.pos] == c {
		o.pos++
		return true
	}
	return false
}

// str consumes a JSON string and returns it raw, quotes included. Its
// escapes are only skipped here: jsonText checks them as it decodes them.
func (o *jsonObject) str() ([]byte, error) {
	start := o.pos
	if !o.eat('"') {
		return nil, tokenError("bad JSON")
	}
	for o.pos < len(o.data) {
		c := o.data[o.pos]
		o.pos++
		switch {
		case c == '"':
			return o.data[start:o.pos], nil
		case c == '\\':
			o.pos++ // the escaped character cannot end the string
		case c < 0x20:
			return nil, tokenError("bad JSON")
		}
	}
	return nil, tokenError("bad JSON")
}

// value consumes a string or an integer without sign, fraction or
// exponent, and returns it raw.
func (o *jsonObject) value() ([]byte, error) {
	if o.pos == len(o.data) {
		return nil, tokenError("bad JSON")
	}
	switch c := o.data[o.pos]; {
	case c == '"':
		return o.str()
	case c == '0':
		// JSON has no leading zeros: what follows a 0 is a fraction, an
		// exponent or the end of the number, and next checks for the end.
		o.pos++
		return o.data[o.pos-1 : o.pos], nil
	case '1' <= c && c <= '9':
		start := o.pos
		for o.pos < len(o.data) && '0' <= o.data[o.pos] && o.data[o.pos] <= '9' {
			o.pos++
		}
		return o.data[start:o.pos], nil
	default:
		return nil, tokenError("value neither a string nor an integer")
	}
}

// jsonText returns the text of v, a raw JSON string, unescaped: a slice of
// v itself when it has no escapes (the common case), else a fresh copy.
func jsonText(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, tokenError("not a string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, tokenError("not a string")
	}
	return []byte(s), nil
}

// jsonString returns the text of v, a raw JSON string.
func jsonString(v []byte) (string, error) {
	s, err := jsonText(v)
	return string(s), err
}

// jsonConst checks that v is the JSON string want; else its error is
// reason.
func jsonConst(v []byte, want string, reason tokenError) error {
	s, err := jsonText(v)
	if err != nil {
		return err
	}
	if string(s) != want {
		return reason
	}
	return nil
}

// jsonUUID decodes v, which must be a JSON string holding a canonical
// (lower-case, hyphenated) UUID.
func jsonUUID(v []byte) (uuid.UUID, error) {
	s, err := jsonText(v)
	if err != nil {
		return uuid.Nil, err
	}
	if len(s) != 36 {
		return uuid.Nil, tokenError("not a canonical UUID")
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return uuid.Nil, tokenError("not a canonical UUID")
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return uuid.Nil, tokenError("not a canonical UUID")
			}
		}
	}
	id, err := uuid.ParseBytes(s)
	if err != nil {
		return uuid.Nil, tokenError("not a canonical UUID")
	}
	return id, nil
}

// maxSecondsDigits is the number of digits of maxUnixSeconds.
const maxSecondsDigits = 12

// jsonSeconds decodes v, which must be a JSON integer (no sign, fraction or
// exponent) of at most maxUnixSeconds.
func jsonSeconds(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > maxSecondsDigits {
		return 0, tokenError("not whole seconds")
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, tokenError("not whole seconds")
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxUnixSeconds {
		return 0, tokenError("not whole seconds")
	}
	return n, nil
}
