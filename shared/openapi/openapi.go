// Package openapi holds the API's contract, an OpenAPI 3.1 document of
// every endpoint, schema and error, served at GET /openapi.json. Tests
// validate real requests and responses against it, so it cannot drift
// from the code.
package openapi

import (
	_ "embed"
	"net/http"

	"github.com/todoevents/todo/shared/httpx"
)

// Document is the OpenAPI document, as JSON.
//
//go:embed openapi.json
var Document []byte

// Path is where the document is served.
const Path = "/openapi.json"

// Route serves the document to anyone (it holds no secret).
func Route() httpx.Route {
	return httpx.Route{Method: http.MethodGet, Pattern: Path, Handler: func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, err := w.Write(Document)
		return err
	}}
}
