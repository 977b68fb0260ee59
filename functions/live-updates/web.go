package function

import (
	"embed"
	"net/http"
	"path"

	"github.com/todoevents/todo/shared/httpx"
)

// assets is the web app: a page, its script and its styles, all built on
// the public REST API (so it is also that API's reference client). Nothing
// is loaded from elsewhere; the page works offline.
//
//go:embed web
var assets embed.FS

// contentSecurityPolicy allows only this origin's script, styles and
// requests: no inline script, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// WebRoutes serve the web app at / (index.html, app.js, app.css).
func WebRoutes() []httpx.Route {
	serve := func(name, contentType string) httpx.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) error {
			b, err := assets.ReadFile(path.Join("web", name))
			if err != nil {
				return err
			}
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cache-Control", "no-cache")
			_, err = w.Write(b)
			return err
		}
	}
	return []httpx.Route{
		{Method: http.MethodGet, Pattern: "/{$}", Handler: serve("index.html", "text/html; charset=utf-8")},
		{Method: http.MethodGet, Pattern: "/app.js", Handler: serve("app.js", "text/javascript; charset=utf-8")},
		{Method: http.MethodGet, Pattern: "/app.css", Handler: serve("app.css", "text/css; charset=utf-8")},
	}
}
