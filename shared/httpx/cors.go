package httpx

import (
	"net/http"
	"slices"

	"github.com/rs/cors"
)

// CORS lets browsers on origins call the API, through rs/cors. A "*" entry
// allows every origin but then never with credentials: the wildcard is sent
// as is and no origin is echoed with Access-Control-Allow-Credentials.
func CORS(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return func(h http.Handler) http.Handler { return h }
	}
	wildcard := slices.Contains(origins, "*")
	if wildcard {
		origins = []string{"*"}
	}
	return cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		ExposedHeaders:   []string{"X-Request-Id", "Retry-After", "X-Total-Count", "ETag"},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "X-Request-Id", "If-Match", "Idempotency-Key", "Last-Event-ID", "Last-Reminder-ID"},
		AllowCredentials: !wildcard,
		MaxAge:           600,
	}).Handler
}
