package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bigtwo/gateway/session/jsonscan"
)

// Message is one frame of the protocol: a JSON object
// {"type":"<name>","id":<optional correlation id>,"data":<any>}.
//
// Messages received from a client are decoded by the gateway; ID and Data are
// copies the Handler may keep. Messages given to Conn.Send must carry valid
// JSON in ID and Data (or leave them empty): the gateway writes them verbatim.
type Message struct {
	// Type names the frame, e.g. "room.join".
	Type string
	// ID is the request's correlation id (a JSON string or number) or empty.
	// Replies carry the request's ID verbatim.
	ID json.RawMessage
	// Data is the frame's payload, any JSON value, or empty.
	Data json.RawMessage
}

// Error is an error frame's body. A Handler returns it (as a value) from
// Message to answer the request with
// {"type":"error","id":<request id>,"data":{"code":Code,"message":Message}}
// while the socket stays open.
type Error struct {
	// Code is a snake_case code of the contract, e.g. "not_in_room".
	Code string `json:"code"`
	// Message is a short human-readable explanation.
	Message string `json:"message"`
}

// Error implements error.
func (e Error) Error() string { return e.Code + ": " + e.Message }

// Limits of decoded frames: longer types and ids are refused as bad_request.
const (
	maxTypeLen = 64
	maxIDLen   = 128
)

// errBadFrame is wrapped by every decodeFrame error; its text is what the
// client sees in the bad_request error frame.
var errBadFrame = errors.New("bad frame")

// decodeFrame parses one text frame. It returns an error wrapping
// errBadFrame when b is not a JSON object, has no string "type", or has an
// "id" that is not a short string or number. Member names match as
// encoding/json matches struct fields (case-insensitively, the last
// duplicate wins).
//
// The returned ID and Data alias b: the reader hands b over with every
// frame it queues for the Handler, and reuses it only for a frame it
// answered itself. It checks b with json.Valid and then walks
// only the top-level members, with no reflection: the reader goroutine
// runs it for every frame, and both its stack (which never shrinks back)
// and its allocations stay small that way.
func decodeFrame(b []byte) (Message, error) {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return Message{}, fmt.Errorf("frame is not a JSON object: %w", errBadFrame)
	}
	if !json.Valid(b) {
		return Message{}, fmt.Errorf("frame is not valid JSON: %w", errBadFrame)
	}
	var rawType, rawID, rawData []byte
	for key, val := range objectMembers(b) {
		switch {
		case keyFolds(key, "type"):
			rawType = val
		case keyFolds(key, "id"):
			rawID = val
		case keyFolds(key, "data"):
			rawData = val
		}
	}
	if len(rawType) == 0 || rawType[0] != '"' {
		return Message{}, fmt.Errorf("frame has no string type: %w", errBadFrame)
	}
	typ := unquote(rawType)
	if typ == "" || len(typ) > maxTypeLen {
		return Message{}, fmt.Errorf("frame type is empty or too long: %w", errBadFrame)
	}
	m := Message{Type: typ}
	if len(rawID) > 0 && !bytes.Equal(rawID, []byte("null")) {
		switch c := rawID[0]; {
		case len(rawID) > maxIDLen:
			return Message{}, fmt.Errorf("frame id is too long: %w", errBadFrame)
		case c == '"', c == '-', c >= '0' && c <= '9':
			m.ID = rawID
		default:
			return Message{}, fmt.Errorf("frame id is not a string or number: %w", errBadFrame)
		}
	}
	if len(rawData) > 0 {
		m.Data = rawData
	}
	return m, nil
}

// objectMembers yields the raw name (quoted, as written) and raw value of
// each top-level member of the JSON object b, which json.Valid accepted.
func objectMembers(b []byte) func(yield func(key, val []byte) bool) {
	return func(yield func(key, val []byte) bool) {
		i := jsonscan.SkipSpace(b, 1) // after '{'
		for i < len(b) && b[i] == '"' {
			k := jsonscan.SkipString(b, i)
			key := b[i:k]
			i = jsonscan.SkipSpace(b, k)
			if i >= len(b) || b[i] != ':' {
				return
			}
			i = jsonscan.SkipSpace(b, i+1)
			v := jsonscan.SkipValue(b, i)
			if !yield(key, b[i:v]) {
				return
			}
			i = jsonscan.SkipSpace(b, v)
			if i >= len(b) || b[i] != ',' {
				return
			}
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
}

// keyFolds reports whether the raw member name key equals name ignoring
// case, as encoding/json matches struct fields.
func keyFolds(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return len(key) == len(name)+2 && bytes.EqualFold(key[1:len(key)-1], []byte(name))
	}
	return strings.EqualFold(unquote(key), name)
}

// unquote decodes the valid JSON string s: a slice of s without escapes,
// else through encoding/json (which also replaces invalid UTF-8).
func unquote(s []byte) string {
	in := s[1 : len(s)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in)
	}
	var out string
	_ = json.Unmarshal(s, &out) // s is a valid JSON string
	return out
}

// encodeFrame renders m as one JSON text frame. ID and Data are written
// verbatim and omitted when empty.
func encodeFrame(m Message) []byte {
	b := make([]byte, 0, len(`{"type":"","id":,"data":}`)+len(m.Type)+len(m.ID)+len(m.Data))
	b = append(b, `{"type":`...)
	b = appendJSONString(b, m.Type)
	if len(m.ID) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, m.ID...)
	}
	if len(m.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, m.Data...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string: verbatim when it needs no
// escaping (every frame type of the protocol), else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// errorFrame builds the contract's error frame answering the request id,
// without encoding/json: the reader sends most error frames.
func errorFrame(id json.RawMessage, code, message string) Message {
	data := make([]byte, 0, len(`{"code":"","message":""}`)+len(code)+len(message))
	data = append(data, `{"code":`...)
	data = appendJSONString(data, code)
	data = append(data, `,"message":`...)
	data = appendJSONString(data, message)
	return Message{Type: "error", ID: id, Data: append(data, '}')}
}

// dataFrame builds a frame whose data is v marshalled. v must be a value
// that always marshals (the gateway's own small structs).
func dataFrame(typ string, id json.RawMessage, v any) Message {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gateway: marshal %s frame: %v", typ, err))
	}
	return Message{Type: typ, ID: id, Data: data}
}
