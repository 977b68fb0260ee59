package testkit

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SignToken signs an HS256 token for user, issued at now and valid for ttl: what
// an identity provider hands a client. Production code only verifies tokens
// (shared/auth); minting lives here, for tests and the development runner.
func SignToken(secret []byte, user string, now time.Time, ttl time.Duration) (string, error) {
	claims := jwt.RegisteredClaims{Subject: user, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
