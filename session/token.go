package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/bigtwo/gateway/session/jsonscan"
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
// the wrong JSON type, and characters outside the base64url alphabet. The
// header and the claims must be valid UTF-8 and valid JSON (RFC 8259):
// whitespace between tokens and escapes in strings are read as encoding/json
// reads them.
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
// immutable, but for the buffers it reuses across Verify calls, and safe for
// concurrent use; use it through the pointer NewKeyRing returns.
type KeyRing struct {
	activeKID string
	active    []byte
	// kids maps every kid of the ring, the active one included, to the
	// index of its key in keys.
	kids map[string]int
	keys [][]byte
	// b64 is unpadded base64url that refuses non-canonical spellings (the
	// unused low bits of the last character must be zero).
	b64 *base64.Encoding
	// scratch holds *verifyScratch values: Verify's buffers and HMACs,
	// reused so that verifying a token allocates only what it returns.
	scratch sync.Pool
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
		kids:   make(map[string]int, 1+len(old)),
		b64:    base64.RawURLEncoding.Strict(),
	}
	k.activeKID = keyID(k.active)
	k.kids[k.activeKID] = 0
	k.keys = append(k.keys, k.active)
	for i, key := range old {
		if len(key) < minKeyBytes {
			return nil, fmt.Errorf("old key %d: %d bytes, want at least %d", i+1, len(key), minKeyBytes)
		}
		kid := keyID(key)
		if j, ok := k.kids[kid]; ok {
			if bytes.Equal(k.keys[j], key) {
				continue // the same secret listed twice
			}
			return nil, fmt.Errorf("old key %d: kid %s collides with another key", i+1, kid)
		}
		k.kids[kid] = len(k.keys)
		k.keys = append(k.keys, bytes.Clone(key))
	}
	n := len(k.keys)
	k.scratch.New = func() any { return &verifyScratch{macs: make([]hash.Hash, n)} }
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
//
// Verify does the cheap checks first: a forged token costs one HMAC, and a
// valid one allocates only the strings it returns.
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
	s := k.scratch.Get().(*verifyScratch)
	tc, err := k.verify(s, token, now)
	k.scratch.Put(s)
	switch {
	case errors.Is(err, errExpired):
		return AccessClaims{}, fmt.Errorf("verify token: %w", ErrTokenExpired)
	case err != nil:
		return AccessClaims{}, fmt.Errorf("verify token: %s: %w", err, ErrInvalidToken)
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

// verifyScratch is what one Verify call works in. Nothing in it outlives
// the call: the claims returned are copied out.
type verifyScratch struct {
	text [MaxTokenBytes]byte         // the token
	json [MaxTokenBytes * 3 / 4]byte // one decoded segment: the header, then the claims
	sig  [sha256.Size]byte           // the decoded signature
	sum  [sha256.Size]byte           // the expected signature
	// macs holds, by key index, an HMAC-SHA256 under that key, made on
	// first use and reset before each.
	macs []hash.Hash
}

// sigChars is the length of an HS256 signature in unpadded base64url.
const sigChars = (sha256.Size*8 + 5) / 6

// errExpired: the token is valid but for its exp.
const errExpired = tokenError("expired")

// verify checks a token whose size and alphabet are already checked, in s:
// first the header, decoded strictly, for its kid; then the HS256 signature
// under that key; and only then the claims, in one strict pass. Its error is
// errExpired or another tokenError.
//
// It does not use jwt.Parser, which was the allocation hog (about 20 µs,
// 10 KB and 230 allocations per token, down to about 2 µs, 64 B and 2
// allocations here): the parser builds a Parser, a Token and a fresh HMAC
// on every call, decodes the header into a map[string]any and the claims
// with encoding/json before it checks the signature, and still leaves the
// strict checks (duplicate and unknown names, JSON types, header
// parameters) to us, so the header was decoded twice. The signature check
// is the library's HS256, HMAC-SHA256 compared in constant time, done with
// crypto/hmac on an HMAC kept per key and reset, not made anew: calling
// jwt.SigningMethodHS256.Verify here instead costs 30% more time and 7 more
// allocations (900 B) per token. FuzzVerify and FuzzSignedJSON check that
// the library's strict parser accepts every token Verify accepts, with the
// same claims; Sign uses the library.
func (k *KeyRing) verify(s *verifyScratch, token string, now time.Time) (tokenClaims, error) {
	text := s.text[:copy(s.text[:], token)]
	hdrLen := bytes.IndexByte(text, '.')
	if hdrLen < 0 {
		return tokenClaims{}, tokenError("malformed: want three segments")
	}
	payLen := bytes.IndexByte(text[hdrLen+1:], '.')
	if payLen < 0 {
		return tokenClaims{}, tokenError("malformed: want three segments")
	}
	input := text[:hdrLen+1+payLen] // header.payload, what the signature covers
	header, payload, sig := input[:hdrLen], input[hdrLen+1:], text[len(input)+1:]
	if bytes.IndexByte(sig, '.') >= 0 {
		return tokenClaims{}, tokenError("malformed: want three segments")
	}

	// The header names the key.
	n, err := k.b64.Decode(s.json[:], header)
	if err != nil {
		return tokenClaims{}, tokenError("header: bad base64")
	}
	ki, err := k.headerKey(s.json[:n])
	if err != nil {
		return tokenClaims{}, err
	}

	// The signature, before anything is read from the claims.
	if len(sig) != sigChars {
		return tokenClaims{}, tokenError("bad signature")
	}
	if n, err := k.b64.Decode(s.sig[:], sig); err != nil || n != sha256.Size {
		return tokenClaims{}, tokenError("bad signature")
	}
	mac := s.macs[ki]
	if mac == nil {
		mac = hmac.New(sha256.New, k.keys[ki])
		s.macs[ki] = mac
	}
	mac.Reset()
	mac.Write(input)
	if !hmac.Equal(mac.Sum(s.sum[:0]), s.sig[:]) {
		return tokenClaims{}, tokenError("bad signature")
	}

	// The claims.
	n, err = k.b64.Decode(s.json[:], payload)
	if err != nil {
		return tokenClaims{}, tokenError("claims: bad base64")
	}
	c, err := decodeClaims(s.json[:n])
	if err != nil {
		return tokenClaims{}, err
	}
	if err := c.check(); err != nil {
		return tokenClaims{}, err
	}
	if time.Unix(c.iat, 0).After(now.Add(iatLeeway)) {
		return tokenClaims{}, tokenError("iat in the future")
	}
	if !now.Before(time.Unix(c.exp, 0)) {
		return tokenClaims{}, errExpired
	}
	return c, nil
}

// headerKey checks a decoded header strictly and returns the index in
// k.keys of the key its kid names: the header is a JSON object holding alg
// (exactly HS256), kid (a kid of the ring) and optionally typ (exactly
// JWT), each once, and nothing else (so jku, x5u, jwk, x5c and crit are
// refused).
func (k *KeyRing) headerKey(hdr []byte) (int, error) {
	if !utf8.Valid(hdr) {
		// The names and values allowed are ASCII.
		return 0, tokenError("header: invalid UTF-8")
	}
	const (
		algBit = 1 << iota
		kidBit
		typBit
	)
	var (
		seen uint8
		kid  []byte
	)
	obj := jsonscan.NewObject(hdr)
	for {
		name, v, ok, err := obj.Next()
		if err != nil {
			return 0, tokenError("header: " + err.Error())
		}
		if !ok {
			break
		}
		var bit uint8
		switch string(name) {
		case "alg":
			bit = algBit
		case "kid":
			bit = kidBit
		case "typ":
			bit = typBit
		default:
			return 0, tokenError("header: parameter not allowed")
		}
		if seen&bit != 0 {
			return 0, tokenError("header: duplicate name")
		}
		seen |= bit
		s, err := jsonText(v)
		switch {
		case err != nil:
			return 0, tokenError("header: " + string(name) + " is not a string")
		case bit == algBit && string(s) != jwt.SigningMethodHS256.Alg():
			return 0, tokenError("header: alg not allowed")
		case bit == typBit && string(s) != "JWT":
			return 0, tokenError("header: typ is not JWT")
		case bit == kidBit:
			kid = s
		}
	}
	switch {
	case seen&algBit == 0:
		return 0, tokenError("header: no alg")
	case len(kid) == 0:
		return 0, tokenError("header: no kid")
	}
	ki, ok := k.kids[string(kid)]
	if !ok {
		return 0, tokenError("unknown kid")
	}
	return ki, nil
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

// tokenClaims is the claim set of an access token: decodeClaims reads it
// strictly (see the format above), and Sign writes it through the jwt.Claims
// methods and MarshalJSON.
type tokenClaims struct {
	sub, sid uuid.UUID
	name     string
	iat, exp int64
	iss, aud string
	jti      string
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

// decodeClaims decodes the claims strictly, in one pass: exactly the eight
// claim names, once each, each of its JSON type, iss and aud of our values.
// The other values (times, IDs) are checked by check.
func decodeClaims(data []byte) (tokenClaims, error) {
	var c tokenClaims
	if !utf8.Valid(data) {
		return c, tokenError("claims: invalid UTF-8")
	}
	const (
		subBit = 1 << iota
		sidBit
		nameBit
		iatBit
		expBit
		issBit
		audBit
		jtiBit
		allBits = 1<<iota - 1
	)
	var seen uint8
	obj := jsonscan.NewObject(data)
	for {
		name, v, ok, err := obj.Next()
		if err != nil {
			return tokenClaims{}, tokenError("claims: " + err.Error())
		}
		if !ok {
			break
		}
		var bit uint8
		switch string(name) {
		case "sub":
			bit = subBit
			c.sub, err = jsonUUID(v)
		case "sid":
			bit = sidBit
			c.sid, err = jsonUUID(v)
		case "name":
			bit = nameBit
			c.name, err = jsonString(v)
		case "iat":
			bit = iatBit
			c.iat, err = jsonSeconds(v)
		case "exp":
			bit = expBit
			c.exp, err = jsonSeconds(v)
		case "iss":
			bit = issBit
			err = jsonConst(v, Issuer, "wrong issuer")
		case "aud":
			bit = audBit
			err = jsonConst(v, Audience, "wrong audience")
		case "jti":
			bit = jtiBit
			c.jti, err = jsonString(v)
		default:
			return tokenClaims{}, tokenError("claims: unknown claim")
		}
		if seen&bit != 0 {
			return tokenClaims{}, tokenError("claims: duplicate name")
		}
		seen |= bit
		if err != nil {
			return tokenClaims{}, tokenError("claims: " + string(name) + ": " + err.Error())
		}
	}
	if seen != allBits {
		return tokenClaims{}, tokenError("claims: want exactly sub, sid, name, iat, exp, iss, aud, jti")
	}
	c.iss, c.aud = Issuer, Audience
	return c, nil
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
