// Package auth verifies the bearer tokens the frontend sends: JWTs whose
// "sub" claim is the user id, signed HS256 with a shared secret, or signed
// EdDSA, ES256, ES512, RS256 or PS256 by a key of a JWKS (Better Auth's JWT
// plugin).
package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoevents/todo/shared/apperr"
)

// Algorithms of each kind of key. The algorithm chooses the key: an HS256
// token is only checked against the secret and any other only against the
// JWKS, so a public key can never serve as an HMAC secret.
var (
	secretAlgorithms = []string{"HS256"}
	jwksAlgorithms   = []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"} // what Better Auth can sign
)

// Verifier checks tokens signed with Secret or by a key of Keys.
type Verifier struct {
	Secret []byte
	// Keys finds a token's public key in a JWKS; nil accepts no JWKS
	// token.
	Keys jwt.Keyfunc
	// Issuer and Audience, when set, must be the token's iss and one of
	// its aud.
	Issuer, Audience string
	// Now is the clock for "exp" and "nbf"; nil means time.Now.
	Now func() time.Time
}

// UserFromRequest returns the user id of r's bearer token.
func (v Verifier) UserFromRequest(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" {
		return "", apperr.New(apperr.Unauthorized, "missing Authorization header")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", apperr.New(apperr.Unauthorized, "Authorization must be 'Bearer <token>'")
	}
	return v.Verify(strings.TrimSpace(token))
}

// Verify checks token's signature, algorithm, expiry (a required numeric
// exp), nbf, iat, issuer and audience, and returns its sub.
func (v Verifier) Verify(token string) (string, error) {
	var claims claims
	_, err := jwt.ParseWithClaims(token, &claims, v.key, v.parserOptions()...)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", apperr.New(apperr.Unauthorized, "token expired")
	case err != nil:
		return "", apperr.Wrap(apperr.Unauthorized, err, "invalid token")
	case claims.Subject == "":
		return "", apperr.New(apperr.Unauthorized, "token has no subject")
	}
	return claims.Subject, nil
}

// key returns the key that may have signed t, chosen by its algorithm. A
// token with a "crit" header is refused: it names extensions the verifier
// must understand (RFC 7515, 4.1.11), and this one understands none.
func (v Verifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New(`the token has a "crit" header naming extensions this verifier does not understand`)
	}
	if t.Method.Alg() == "HS256" {
		if len(v.Secret) == 0 {
			return nil, errors.New("HS256 tokens are not accepted here")
		}
		return v.Secret, nil
	}
	if v.Keys == nil {
		return nil, errors.New("no JWKS is configured")
	}
	return v.Keys(t)
}

// parserOptions verify the algorithm, require exp, refuse tokens not yet
// valid or issued in the future beyond Leeway, and check iss and aud when
// set.
func (v Verifier) parserOptions() []jwt.ParserOption {
	var algs []string
	if len(v.Secret) > 0 {
		algs = append(algs, secretAlgorithms...)
	}
	if v.Keys != nil {
		algs = append(algs, jwksAlgorithms...)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithLeeway(Leeway)}
	if v.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.Now))
	}
	if v.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.Issuer))
	}
	if v.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.Audience))
	}
	return opts
}

// Authorize checks that r's token belongs to pathUser: 401 without a valid
// token, 403 when it is another user's.
func (v Verifier) Authorize(r *http.Request, pathUser string) error {
	sub, err := v.UserFromRequest(r)
	if err != nil {
		return err
	}
	if sub != pathUser {
		return apperr.New(apperr.Forbidden, "token does not belong to user %s", pathUser)
	}
	return nil
}
