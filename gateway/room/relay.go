package room

import (
	"bytes"
	"encoding/json"

	"github.com/bigtwo/gateway/gateway/internal/jsonscan"
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
	i := jsonscan.SkipSpace(data, 1)
	for i < len(data) && data[i] == '"' {
		k := jsonscan.SkipString(data, i)
		key := data[i:k]
		i = jsonscan.SkipSpace(data, k) // at ':'
		v0 := jsonscan.SkipSpace(data, i+1)
		v1 := jsonscan.SkipValue(data, v0)
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
		i = jsonscan.SkipSpace(data, v1)
		if i < len(data) && data[i] == ',' {
			i = jsonscan.SkipSpace(data, i+1)
		}
	}
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, `"from":`...)
	out = append(out, from...)
	return append(out, '}'), room, true
}

// stringValue decodes a raw member value that must be a JSON string.
func stringValue(raw []byte) (string, bool) {
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
