package session

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Access token format. An access token is a compact HS256 JWT whose header is
// exactly {"alg":"HS256","kid":"<kid>","typ":"JWT"} and whose claims are
// exactly sub, sid, name, iat, exp, iss, aud and jti:
//
//   - sub, sid: the player and session IDs, canonical lower-case UUID strings;
//   - name: the username, a non-empty string;
//   - iat, exp: whole seconds since the Unix epoch, written as JSON integers
//     (1.5, 1e9 and 1700000000.0 are refused), exp after iat;
//   - iss: the string Issuer; aud: the string Audience (a JSON array, even
//     ["bigtwo"], is refused: we only ever issue the string form);
//   - jti: a non-empty string, a random UUID when Sign generates it.
//
// Verification refuses anything else: other algorithms, a missing or unknown
// kid, header parameters other than alg, kid and typ (so jku, x5u, jwk, x5c
// and crit are refused), claims other than the eight above (a verifier must
// be deployed before a signer that adds a claim), duplicate names, claims of
// the wrong JSON type, and characters outside the base64url alphabet.
const (
	// Issuer is the iss claim of every access token.
	Issuer = "bigtwo-gateway"
	// Audience is the aud claim of every access token, a single JSON string.
	Audience = "bigtwo"
	// MaxTokenBytes is the length above which a token is refused before any
	// parsing; Sign refuses to produce a longer one.
	MaxTokenBytes = 4096

	// minKeyBytes is the shortest signing key accepted (256 bits, the HS256
	// output size).
	minKeyBytes = 32
	// kidHexDigits is how many hex digits of the key's SHA-256 form its kid.
	kidHexDigits = 12
	// iatLeeway is how far in the future iat may be (clock skew between
	// gateway processes).
	iatLeeway = 5 * time.Second
	// maxUnixSeconds bounds iat and exp (9999-12-31T23:59:59Z) so that no
	// time arithmetic can overflow.
	maxUnixSeconds = 253402300799
)

// KeyRing holds the active signing key and older keys still accepted for
// verification, each known by its kid: the first 12 hex digits of the key's
// SHA-256, so that every process sharing a secret agrees on it. A KeyRing is
// immutable and safe for concurrent use.
type KeyRing struct {
	activeKID string
	active    []byte
	// keys maps every kid of the ring, the active one included, to its key.
	keys map[string][]byte
}

// NewKeyRing builds a ring: active signs and verifies, each of old only
// verifies. Keys shorter than 32 bytes are refused with an error naming the
// key ("active key: ..." or "old key N: ...", N counting from 1). An old key
// equal to the active key or to another old key is ignored. The ring keeps
// its own copies of the keys.
func NewKeyRing(active []byte, old ...[]byte) (*KeyRing, error) {
	if len(active) < minKeyBytes {
		return nil, fmt.Errorf("active key: %d bytes, want at least %d", len(active), minKeyBytes)
	}
	k := &KeyRing{
		active: bytes.Clone(active),
		keys:   make(map[string][]byte, 1+len(old)),
	}
	k.activeKID = keyID(k.active)
	k.keys[k.activeKID] = k.active
	for i, key := range old {
		if len(key) < minKeyBytes {
			return nil, fmt.Errorf("old key %d: %d bytes, want at least %d", i+1, len(key), minKeyBytes)
		}
		kid := keyID(key)
		if have, ok := k.keys[kid]; ok {
			if bytes.Equal(have, key) {
				continue // the same secret listed twice
			}
			return nil, fmt.Errorf("old key %d: kid %s collides with another key", i+1, kid)
		}
		k.keys[kid] = bytes.Clone(key)
	}
	return k, nil
}

// RandomKeyRing returns a ring with a fresh 32-byte key from crypto/rand, for
// a process configured without a secret: its tokens die with it and no other
// process accepts them.
func RandomKeyRing() (*KeyRing, error) {
	key := make([]byte, minKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	return NewKeyRing(key)
}

// ActiveKID returns the kid of the active key.
func (k *KeyRing) ActiveKID() string { return k.activeKID }

// keyID is the kid of key: the first 12 hex digits of its SHA-256.
func keyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])[:kidHexDigits]
}

// AccessClaims are the facts an access token carries.
type AccessClaims struct {
	PlayerID  uuid.UUID
	SessionID uuid.UUID
	Username  string
	IssuedAt  time.Time // whole seconds
	ExpiresAt time.Time // whole seconds
	ID        string    // jti
}

// Sign returns the compact JWT for c, signed with the active key. IssuedAt
// and ExpiresAt are truncated to whole seconds and ExpiresAt must then be
// after IssuedAt; a random UUID is used as ID if c.ID is empty. It refuses
// claims that Verify would refuse (nil IDs, an empty username, a token longer
// than MaxTokenBytes).
func (k *KeyRing) Sign(c AccessClaims) (string, error) {
	if c.IssuedAt.IsZero() || c.ExpiresAt.IsZero() {
		return "", errors.New("sign token: IssuedAt and ExpiresAt are required")
	}
	if c.ID == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return "", fmt.Errorf("sign token: %w", err)
		}
		c.ID = id.String()
	}
	tc := tokenClaims{
		sub:  c.PlayerID,
		sid:  c.SessionID,
		name: c.Username,
		iat:  c.IssuedAt.Unix(),
		exp:  c.ExpiresAt.Unix(),
		iss:  Issuer,
		aud:  Audience,
		jti:  c.ID,
	}
	if err := tc.check(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, tc)
	t.Header["kid"] = k.activeKID
	s, err := t.SignedString(k.active)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if len(s) > MaxTokenBytes {
		return "", fmt.Errorf("sign token: %d bytes: %w", len(s), errTokenTooLong)
	}
	return s, nil
}

// Verify checks token strictly at time now and returns its claims (times in
// UTC). Errors wrap ErrTokenExpired when, and only when, the token is valid
// in every other respect but its exp is not after now; every other failure,
// an empty or oversized token included, wraps ErrInvalidToken. On error the
// claims are zero. Error messages never contain the token or any text taken
// from it.
func (k *KeyRing) Verify(token string, now time.Time) (AccessClaims, error) {
	switch {
	case token == "":
		return AccessClaims{}, fmt.Errorf("verify token: empty: %w", ErrInvalidToken)
	case len(token) > MaxTokenBytes:
		return AccessClaims{}, fmt.Errorf("verify token: longer than %d bytes: %w", MaxTokenBytes, ErrInvalidToken)
	case !tokenAlphabet(token):
		// base64 decoders skip '\r' and '\n': refuse them here so that one
		// signature has only one spelling.
		return AccessClaims{}, fmt.Errorf("verify token: character outside base64url: %w", ErrInvalidToken)
	}

	tc := tokenClaims{now: now}
	keyed := false
	keyfunc := func(t *jwt.Token) (any, error) {
		keyed = true
		return k.key(t.Raw)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		// No WithIssuedAt: it has no leeway of its own and WithLeeway would
		// loosen exp too. tokenClaims.Validate checks iat.
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if _, err := p.ParseWithClaims(token, &tc, keyfunc); err != nil {
		if onlyExpired(err) {
			return AccessClaims{}, fmt.Errorf("verify token: %w", ErrTokenExpired)
		}
		return AccessClaims{}, fmt.Errorf("verify token: %s: %w", rejection(err, keyed), ErrInvalidToken)
	}
	return AccessClaims{
		PlayerID:  tc.sub,
		SessionID: tc.sid,
		Username:  tc.name,
		IssuedAt:  time.Unix(tc.iat, 0).UTC(),
		ExpiresAt: time.Unix(tc.exp, 0).UTC(),
		ID:        tc.jti,
	}, nil
}

// key returns the verification key for the token whose raw text is raw,
// after checking its header strictly. The parser has already checked that
// alg is HS256.
func (k *KeyRing) key(raw string) ([]byte, error) {
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, tokenError("header: bad base64")
	}
	fields, err := jsonObject(b)
	if err != nil {
		return nil, tokenError("header: " + err.Error())
	}
	var kid string
	for name, v := range fields {
		switch name {
		case "alg":
			var alg string
			if jsonString(v, &alg) != nil || alg != jwt.SigningMethodHS256.Alg() {
				return nil, tokenError("header: alg not allowed")
			}
		case "typ":
			var typ string
			if jsonString(v, &typ) != nil || typ != "JWT" {
				return nil, tokenError("header: typ is not JWT")
			}
		case "kid":
			if jsonString(v, &kid) != nil {
				return nil, tokenError("header: kid is not a string")
			}
		default:
			// jku, x5u, jwk, x5c, crit and anything else we never send.
			return nil, tokenError("header: parameter not allowed")
		}
	}
	if kid == "" {
		return nil, tokenError("header: no kid")
	}
	key, ok := k.keys[kid]
	if !ok {
		return nil, tokenError("unknown kid")
	}
	return key, nil
}

// tokenAlphabet reports whether s holds only base64url characters and dots.
func tokenAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// errTokenTooLong: Sign would produce a token longer than MaxTokenBytes.
var errTokenTooLong = fmt.Errorf("token longer than %d bytes", MaxTokenBytes)

// tokenError is a reason for refusing a token, made only of constant text so
// that it can never echo the token.
type tokenError string

func (e tokenError) Error() string { return string(e) }

// onlyExpired reports whether err, from a parse whose signature checked out,
// carries no complaint but an expired exp.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenInvalidClaims) || !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	only := true
	walkLeaves(err, func(leaf error) {
		if leaf != jwt.ErrTokenInvalidClaims && leaf != jwt.ErrTokenExpired {
			only = false
		}
	})
	return only
}

// walkLeaves calls f with every error in err's tree that wraps nothing.
func walkLeaves(err error, f func(error)) {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			walkLeaves(inner, f)
		}
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			walkLeaves(inner, f)
		} else {
			f(err)
		}
	default:
		f(err)
	}
}

// rejection turns a parse error into a short reason of constant text: the
// library's own messages may quote the token (its alg, a JSON character).
// keyed says whether the key lookup ran, i.e. the algorithm was allowed.
func rejection(err error, keyed bool) string {
	var te tokenError
	switch {
	case errors.As(err, &te):
		return string(te)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && !keyed:
		return "alg not allowed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "alg not allowed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "claim missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	default:
		return "invalid claims"
	}
}

// tokenClaims is the claim set of an access token, decoded strictly (see the
// format above) and validated by the jwt parser through the jwt.Claims and
// jwt.ClaimsValidator methods.
type tokenClaims struct {
	sub, sid uuid.UUID
	name     string
	iat, exp int64
	iss, aud string
	jti      string
	now      time.Time // verification time, for Validate; not a claim
	decoded  bool      // UnmarshalJSON succeeded (JSON null skips it)
}

// wireClaims is the JSON form of tokenClaims, in the order they are written.
type wireClaims struct {
	Sub  string `json:"sub"`
	Sid  string `json:"sid"`
	Name string `json:"name"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp"`
	Iss  string `json:"iss"`
	Aud  string `json:"aud"`
	Jti  string `json:"jti"`
}

// MarshalJSON writes the claims; aud is a single string, never an array.
func (c tokenClaims) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireClaims{
		Sub: c.sub.String(), Sid: c.sid.String(), Name: c.name,
		Iat: c.iat, Exp: c.exp, Iss: c.iss, Aud: c.aud, Jti: c.jti,
	})
}

// UnmarshalJSON decodes the claims strictly: exactly the eight claim names,
// once each, each of its JSON type. Values (issuer, audience, times) are
// checked later by the parser's validation.
func (c *tokenClaims) UnmarshalJSON(data []byte) error {
	if !utf8.Valid(data) {
		return tokenError("claims: invalid UTF-8")
	}
	fields, err := jsonObject(data)
	if err != nil {
		return tokenError("claims: " + err.Error())
	}
	if len(fields) != 8 {
		return tokenError("claims: want exactly sub, sid, name, iat, exp, iss, aud, jti")
	}
	for name, v := range fields {
		var err error
		switch name {
		case "sub":
			c.sub, err = jsonUUID(v)
		case "sid":
			c.sid, err = jsonUUID(v)
		case "name":
			err = jsonString(v, &c.name)
		case "iat":
			c.iat, err = jsonSeconds(v)
		case "exp":
			c.exp, err = jsonSeconds(v)
		case "iss":
			err = jsonString(v, &c.iss)
		case "aud":
			err = jsonString(v, &c.aud)
		case "jti":
			err = jsonString(v, &c.jti)
		default:
			return tokenError("claims: unknown claim")
		}
		if err != nil {
			return tokenError("claims: " + name + ": " + err.Error())
		}
	}
	c.decoded = true
	return nil
}

// check reports claims that no token of ours may carry, whatever the time.
func (c tokenClaims) check() error {
	switch {
	case c.sub == uuid.Nil:
		return tokenError("sub is the nil UUID")
	case c.sid == uuid.Nil:
		return tokenError("sid is the nil UUID")
	case c.name == "":
		return tokenError("name is empty")
	case c.jti == "":
		return tokenError("jti is empty")
	case c.iat <= 0 || c.iat > maxUnixSeconds || c.exp <= 0 || c.exp > maxUnixSeconds:
		return tokenError("iat or exp out of range")
	case c.exp <= c.iat:
		return tokenError("exp not after iat")
	}
	return nil
}

// Validate implements jwt.ClaimsValidator: the checks the parser's options
// do not make. iat may be up to iatLeeway after now.
func (c tokenClaims) Validate() error {
	if !c.decoded {
		return tokenError("claims: not a JSON object")
	}
	if err := c.check(); err != nil {
		return err
	}
	if time.Unix(c.iat, 0).After(c.now.Add(iatLeeway)) {
		return tokenError("iat in the future")
	}
	return nil
}

// GetExpirationTime implements jwt.Claims.
func (c tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.exp, 0)), nil
}

// GetIssuedAt implements jwt.Claims.
func (c tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.iat, 0)), nil
}

// GetNotBefore implements jwt.Claims: access tokens have no nbf.
func (c tokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }

// GetIssuer implements jwt.Claims.
func (c tokenClaims) GetIssuer() (string, error) { return c.iss, nil }

// GetSubject implements jwt.Claims.
func (c tokenClaims) GetSubject() (string, error) { return c.sub.String(), nil }

// GetAudience implements jwt.Claims.
func (c tokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.aud}, nil
}

// jsonObject decodes a JSON object into its members, refusing anything else,
// duplicate names and trailing data. Errors are constant text.
func jsonObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, tokenError("not a JSON object")
	}
	fields := make(map[string]json.RawMessage, 8)
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return nil, tokenError("bad JSON")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, tokenError("bad JSON")
		}
		if _, dup := fields[name]; dup {
			return nil, tokenError("duplicate name")
		}
		fields[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, tokenError("bad JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, tokenError("data after the object")
	}
	return fields, nil
}

// jsonString decodes v, which must be a JSON string, into s.
func jsonString(v json.RawMessage, s *string) error {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, s) != nil {
		return tokenError("not a string")
	}
	return nil
}

// jsonUUID decodes v, which must be a JSON string holding a canonical
// (lower-case, hyphenated) UUID.
func jsonUUID(v json.RawMessage) (uuid.UUID, error) {
	var s string
	if err := jsonString(v, &s); err != nil {
		return uuid.Nil, err
	}
	id, err := uuid.Parse(s)
	if err != nil || id.String() != s {
		return uuid.Nil, tokenError("not a canonical UUID")
	}
	return id, nil
}

// jsonSeconds decodes v, which must be a JSON integer (no sign, fraction or
// exponent) of at most maxUnixSeconds.
func jsonSeconds(v json.RawMessage) (int64, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || len(v) > len(strconv.Itoa(maxUnixSeconds)) {
		return 0, tokenError("not whole seconds")
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, tokenError("not whole seconds")
		}
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n > maxUnixSeconds {
		return 0, tokenError("not whole seconds")
	}
	return n, nil
}
