package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/control/ctl/ctltest"
	"github.com/vecnet/vecnet/internal/testutil"
)

// openAPIPaths returns the methods of each path the OpenAPI document
// describes ("get /api/v1/fib").
func openAPIPaths(t *testing.T) map[string]bool {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: version %q, want 3.x", doc.OpenAPI)
	}
	out := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			out[m+" "+p] = true
		}
	}
	return out
}

var rest = regexp.MustCompile(`\{(\w+)\.\.\.\}`)

// TestOpenAPIDescribesEveryRoute: every route in the table is in
// openapi.json with its method, and openapi.json describes nothing else.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := openAPIPaths(t)
	inTable := map[string]bool{"get /api/v1/openapi.json": true}
	for _, r := range Routes {
		k := strings.ToLower(r.Method) + " " + rest.ReplaceAllString(r.Path, "{$1}")
		inTable[k] = true
		if !doc[k] {
			t.Errorf("route %s %s is not in openapi.json (as %q)", r.Method, r.Path, k)
		}
	}
	for k := range doc {
		if !inTable[k] {
			t.Errorf("openapi.json describes %q, which the server does not serve", k)
		}
	}
}

type call struct {
	method, path, body string
	status             int
	want               string // substring of the response body
}

func send(t *testing.T, h http.Handler, c call) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
		t.Errorf("%s %s %s: %d %s, want %d with %q", c.method, c.path, c.body, rec.Code, rec.Body.String(), c.status, c.want)
	}
	if rec.Code >= 400 {
		var e ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Errorf("%s %s: error body is not {\"error\": ...}: %q", c.method, c.path, rec.Body.String())
		}
	}
	return rec
}

// TestShowsMatchGoldenJSON: each GET returns the rows the control layer's
// golden files hold.
func TestShowsMatchGoldenJSON(t *testing.T) {
	h := New(ctltest.New()).Handler()
	for _, name := range []string{"interfaces", "runtime", "errors", "fib", "neighbors", "offload", "trace"} {
		want, err := os.ReadFile("../ctl/testdata/" + name + ".json.golden")
		if err != nil {
			t.Fatal(err)
		}
		rec := send(t, h, call{"GET", "/api/v1/" + name, "", 200, ""})
		if rec.Body.String() != string(want) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET /api/v1/%s (%s):\n%s\nwant:\n%s", name, rec.Header().Get("Content-Type"), rec.Body.String(), want)
		}
	}
}

// TestChangesAndStatus: the changes reach the backend, and every failure
// is JSON with its status.
func TestChangesAndStatus(t *testing.T) {
	f := ctltest.New()
	h := New(f).Handler()
	for _, c := range []call{
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.5/16", "via": ["10.0.1.2"]}`, 201, `"prefix": "10.9.0.0/16"`},
		{"GET", "/api/v1/fib", "", 200, `"prefix": "10.9.0.0/16"`},
		{"DELETE", "/api/v1/routes/10.9.0.0/16", "", 204, ""},
		{"DELETE", "/api/v1/routes/10.9.0.0/16", "", 404, "no such route"},
		{"DELETE", "/api/v1/routes/10.9.0.0", "", 400, "no '/'"},
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16"}`, 400, "via"},
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16", "via": ["x"]}`, 400, "request body"},
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16", "via": ["10.0.1.2"], "metric": 1}`, 400, "unknown field"},
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16", "via": ["10.0.1.2"]} {}`, 400, "after the JSON"},
		{"POST", "/api/v1/routes", `{"prefix": "10.9.0.0/16", "via": ["10.0.1.2"], "interface": "eth9"}`, 404, "eth9"},
		{"POST", "/api/v1/routes", `{"prefix": "` + strings.Repeat("1", 70000) + `"}`, 413, ""},
		{"PUT", "/api/v1/routes", "", 405, "allowed: POST"},
		{"GET", "/api/v1/nothing", "", 404, "no such endpoint"},
		{"POST", "/api/v1/neighbors", `{"interface": "eth0", "ip": "10.0.1.7", "mac": "02:00:00:00:07:07"}`, 201, "10.0.1.7"},
		{"GET", "/api/v1/neighbors", "", 200, `"ip": "10.0.1.7"`},
		{"POST", "/api/v1/neighbors", `{"interface": "eth0", "ip": "10.0.1.8", "mac": "nope"}`, 400, "not a MAC"},
		{"DELETE", "/api/v1/neighbors/eth0/10.0.1.7", "", 204, ""},
		{"DELETE", "/api/v1/neighbors/eth0/10.0.1.7", "", 404, "no neighbor"},
		{"DELETE", "/api/v1/neighbors/eth0/banana", "", 400, ""},
		{"POST", "/api/v1/interfaces/eth0/addresses", `{"address": "10.0.3.1/24"}`, 201, "10.0.3.1/24"},
		{"POST", "/api/v1/interfaces/mem0/addresses", `{"address": "10.0.3.1/24"}`, 409, "already"},
		{"POST", "/api/v1/interfaces/eth7/addresses", `{"address": "10.0.4.1/24"}`, 404, "eth7"},
		{"DELETE", "/api/v1/interfaces/eth0/addresses/10.0.3.1/24", "", 501, "not supported"},
		{"POST", "/api/v1/interfaces/eth0/down", "", 204, ""},
		{"POST", "/api/v1/interfaces/eth7/up", "", 404, ""},
		{"GET", "/api/v1/interfaces/eth0/up", "", 405, ""},
		{"POST", "/api/v1/trace", `{"count": 50}`, 204, ""},
		{"POST", "/api/v1/trace", `{"count": 0}`, 400, "1..10000"},
		{"DELETE", "/api/v1/trace", "", 204, ""},
		{"DELETE", "/api/v1/runtime", "", 204, ""},
		{"DELETE", "/api/v1/errors", "", 204, ""},
		{"GET", "/api/v1/openapi.json", "", 200, `"openapi"`},
		{"GET", "/api/v1/linux-cp", "", 200, `"host_if": "lcp-eth0"`},
		{"POST", "/api/v1/linux-cp", "", 405, ""},
	} {
		send(t, h, c)
	}
	want := "route add 10.9.0.0/16 via [10.0.1.2]|route del 10.9.0.0/16|neighbor add eth0 10.0.1.7 02:00:00:00:07:07|" +
		"neighbor del eth0 10.0.1.7|address add eth0 10.0.3.1/24|link eth0 up=false|trace add 50|trace clear|runtime clear|errors clear"
	if got := strings.Join(f.Ops, "|"); got != want {
		t.Errorf("operations:\n%s\nwant:\n%s", got, want)
	}
	f.Fail = ctl.Errorf(ctl.Unavailable, "worker 1: did not answer")
	send(t, h, call{"GET", "/api/v1/errors", "", 503, "worker 1"})
}

func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

// TestUnixSocket: the API is served on a 0600 socket, removed by Close;
// Mount adds a handler beside the API.
func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	s := New(ctltest.New())
	s.Mount("/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "up 1\n") }))
	if err := s.Start(Config{Socket: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket %v %v, want a socket with mode 0600", fi.Mode(), err)
	}
	c := unixClient(path)
	for p, want := range map[string]string{"/api/v1/fib": "10.0.1.0/24", "/metrics": "up 1"} {
		resp, err := c.Get("http://vecnet" + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(want)) {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
	}
	c.CloseIdleConnections()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

// TestTCPToken: the TCP listener binds loopback when the host is empty,
// and refuses requests without the token or with a wrong one.
func TestTCPToken(t *testing.T) {
	s := New(ctltest.New())
	if err := s.Start(Config{Listen: ":0"}); err == nil {
		t.Fatal("a TCP listener without a token started")
	}
	s = New(ctltest.New())
	if err := s.Start(Config{Listen: ":0", Token: "s3cret-token"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addrs := s.Addrs()
	if len(addrs) != 1 {
		t.Fatalf("addresses %v", addrs)
	}
	ta := addrs[0].(*net.TCPAddr)
	if !ta.IP.IsLoopback() {
		t.Fatalf("listening on %v, want loopback", ta)
	}
	url := "http://" + ta.String() + "/api/v1/interfaces"
	for _, tc := range []struct {
		auth   string
		status int
	}{
		{"", 401},
		{"Bearer wrong", 401},
		{"Bearer s3cret-tokeN", 401},
		{"Bearer s3cret-token-and-more", 401},
		{"Basic s3cret-token", 401},
		{"s3cret-token", 401},
		{"Bearer s3cret-token", 200},
	} {
		req, _ := http.NewRequest("GET", url, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("Authorization %q: %d %s, want %d", tc.auth, resp.StatusCode, b, tc.status)
		}
		if tc.status == 401 && (resp.Header.Get("WWW-Authenticate") == "" || bytes.Contains(b, []byte("eth0"))) {
			t.Errorf("Authorization %q: refused without WWW-Authenticate or with data: %s", tc.auth, b)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if a, err := ListenAddr("0.0.0.0:80"); err != nil || a != "0.0.0.0:80" {
		t.Errorf("an explicit address is kept: %q %v", a, err)
	}
}

// TestNonRootCannotReachSocket: a user other than the socket's owner
// (nobody, with curl) is refused by the socket's mode, even where the
// directory lets it in; the same socket opened to everyone answers it,
// so the refusal is the mode's doing.
func TestNonRootCannotReachSocket(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "setpriv")
	dir, err := os.MkdirTemp("", "vecnet-api-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "api.sock")
	s := New(ctltest.New())
	if err := s.Start(Config{Socket: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	curl := func() (string, error) {
		out, err := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			"curl", "-sS", "--max-time", "10", "--unix-socket", path, "http://vecnet/api/v1/interfaces").CombinedOutput()
		return string(out), err
	}
	if out, err := curl(); err == nil || !strings.Contains(out, "ermission denied") && !strings.Contains(out, "Couldn't connect") {
		t.Fatalf("nobody reached the 0600 socket: %v\n%s", err, out)
	}
	if out, err := exec.Command("curl", "-sS", "--max-time", "10", "--unix-socket", path, "http://vecnet/api/v1/interfaces").CombinedOutput(); err != nil || !strings.Contains(string(out), "eth0") {
		t.Fatalf("root (the owner) could not: %v\n%s", err, out)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if out, err := curl(); err != nil || !strings.Contains(out, "eth0") {
		t.Fatalf("control: nobody could not reach the socket opened to everyone: %v\n%s", err, out)
	}
}

// TestRouteBatch: POST /api/v1/routes/batch applies every change or none;
// a batch larger than the single-route body bound is accepted.
func TestRouteBatch(t *testing.T) {
	f := ctltest.New()
	h := New(f).Handler()
	for _, c := range []call{
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.9.0.5/16", "via": ["10.0.1.2"]}, {"prefix": "10.10.0.0/16", "via": ["10.0.1.2", "10.0.1.3"]}]`, 200, `"added": 2`},
		{"GET", "/api/v1/fib", "", 200, `"prefix": "10.10.0.0/16"`},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.11.0.0/16", "via": ["10.0.1.2"]}, {"prefix": "10.12.0.0/16", "delete": true}]`, 404, "no such route"},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.9.0.0/16", "delete": true}, {"prefix": "10.10.0.0/16", "via": ["10.0.1.4"]}]`, 200, `"deleted": 1`},
		{"POST", "/api/v1/routes/batch", `[]`, 400, "1.."},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.13.0.0/16"}]`, 400, "via"},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.13.0.0/16", "via": ["10.0.1.2"], "delete": true}]`, 400, "takes no"},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "2001:db8::/32", "via": ["10.0.1.2"]}]`, 400, "IPv4"},
		{"POST", "/api/v1/routes/batch", `[{"prefix": "10.13.0.0/16", "via": ["10.0.1.2"], "interface": "eth9"}]`, 404, "eth9"},
		{"POST", "/api/v1/routes/batch", `{"prefix": "10.13.0.0/16"}`, 400, "request body"},
	} {
		send(t, h, c)
	}
	rec := send(t, h, call{"GET", "/api/v1/fib", "", 200, `"prefix": "10.10.0.0/16"`})
	for _, gone := range []string{"10.9.0.0/16", "10.11.0.0/16"} {
		if strings.Contains(rec.Body.String(), gone) {
			t.Errorf("after the batches the FIB still (or already) holds %s: a failed batch changed it, or a delete did not", gone)
		}
	}
	// 5000 changes (about 250 KB): beyond the 64 KiB of a single route.
	var b strings.Builder
	b.WriteString("[")
	for i := range 5000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"prefix": "172.%d.%d.0/24", "via": ["10.0.1.2"]}`, 16+i/256, i%256)
	}
	b.WriteString("]")
	send(t, h, call{"POST", "/api/v1/routes/batch", b.String(), 200, `"added": 5000`})
}
