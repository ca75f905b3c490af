package session

import (
	"github.com/google/uuid"

	"github.com/bigtwo/gateway/session/jsonscan"
)

// The token's JSON is read with jsonscan.Object (a flat object of strings
// and unsigned integers, strictly); the functions below decode its values
// as the claims want them. Every error is of constant text.

// jsonText returns the text of v, a raw JSON string, unescaped.
func jsonText(v []byte) ([]byte, error) {
	s, err := jsonscan.Text(v)
	if err != nil {
		return nil, tokenError(err.Error())
	}
	return s, nil
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
