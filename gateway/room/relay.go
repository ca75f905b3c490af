package room

import (
	"bytes"
	"encoding/json"
)

// withFrom returns the JSON object data with every top-level "from"
// member dropped and "from":from appended, and the raw value of its "room"
// member (the last one, as encoding/json reads duplicates). ok is false
// when data is not a JSON object.
//
// It splices bytes instead of decoding data into a map and encoding it
// again: the relay runs for every game frame, and the members other than
// "from" are copied as sent. Member names are compared after unescaping,
// so an escaped "fr\u006fm" is dropped too; nested "from" members are
// data and stay.
func withFrom(data, from []byte) (out, room []byte, ok bool) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, nil, false
	}
	out = make([]byte, 0, len(data)+len(`,"from":`)+len(from))
	out = append(out, '{')
	i := skipSpace(data, 1)
	for i < len(data) && data[i] == '"' {
		k := skipString(data, i)
		key := data[i:k]
		i = skipSpace(data, k) // at ':'
		v0 := skipSpace(data, i+1)
		v1 := skipValue(data, v0)
		switch {
		case keyIs(key, "from"):
		case keyIs(key, "room"):
			room = data[v0:v1]
			fallthrough
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, key...)
			out = append(out, ':')
			out = append(out, data[v0:v1]...)
		}
		i = skipSpace(data, v1)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, `"from":`...)
	out = append(out, from...)
	return append(out, '}'), room, true
}

// roomString decodes a raw "room" value that must be a JSON string.
func roomString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// keyIs reports whether the raw (quoted) member name key is name, after
// unescaping, exactly as a map key compares.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return len(key) == len(name)+2 && string(key[1:len(key)-1]) == name
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the valid JSON value that starts at
// b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
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
