// Package auth verifies the bearer tokens the frontend sends: JWTs signed
// HS256 with the shared secret, whose "sub" claim is the user id.
package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/todoevents/todo/shared/apperr"
)

// Verifier checks tokens signed with Secret.
type Verifier struct {
	Secret []byte
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
// exp), nbf and iat, and returns its sub.
func (v Verifier) Verify(token string) (string, error) {
	var claims claims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return v.Secret, nil },
		parserOptions(v.Now)...)
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

// Issue signs a token for userID valid for ttl (for local runs and tests).
func Issue(secret []byte, userID string, now time.Time, ttl time.Duration) (string, error) {
	claims := jwt.RegisteredClaims{Subject: userID, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
