package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/ctl/ctltest"
)

// FuzzAPI sends any method, path and body to the API: it never panics,
// every answer is a known status, and every error is {"error": "..."}.
func FuzzAPI(f *testing.F) {
	f.Add("POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16", "via": ["10.0.1.2"], "interface": "eth0"}`)
	f.Add("DELETE", "/api/v1/routes/10.9.0.0/16", "")
	f.Add("POST", "/api/v1/neighbors", `{"interface": "eth0", "ip": "10.0.1.7", "mac": "02:00:00:00:07:07"}`)
	f.Add("DELETE", "/api/v1/neighbors/eth0/10.0.1.7", "")
	f.Add("POST", "/api/v1/interfaces/eth0/addresses", `{"address": "10.0.3.1/24"}`)
	f.Add("DELETE", "/api/v1/interfaces/eth0/addresses/10.0.3.1/24", "")
	f.Add("POST", "/api/v1/interfaces/mem0/down", "")
	f.Add("POST", "/api/v1/trace", `{"count": 10}`)
	f.Add("GET", "/api/v1/runtime", "")
	f.Add("POST", "/api/v1/routes", `{"prefix": "1.2.3.4/33", "via": [null]}`)
	f.Add("PATCH", "/api/v1/trace", `[`)
	f.Add("POST", "/api/v1/trace", `{"count": 1e99}`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || method == "CONNECT" {
			return
		}
		req, err := http.NewRequest(method, "http://vecnet"+path, strings.NewReader(body))
		if err != nil {
			return // nothing a client could send
		}
		h := New(ctltest.New()).Handler()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 201, 204, 301, 307, 308:
			return
		case 400, 404, 405, 409, 413, 501, 503:
		default:
			t.Fatalf("%s %s %q: status %d", method, path, body, rec.Code)
		}
		var e ErrorBody
		if strings.HasPrefix(path, "/api/") && (json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "") {
			t.Fatalf("%s %s %q: %d with body %q, want {\"error\": ...}", method, path, body, rec.Code, rec.Body.String())
		}
	})
}
