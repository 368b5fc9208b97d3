package config

import (
	"reflect"
	"strings"
	"testing"
)

const httpBase = "interfaces:\n  - {name: x, driver: mem}\n"

// TestHTTPBlock: the http block parses, round-trips through Marshal, and
// its default socket sits beside the CLI socket.
func TestHTTPBlock(t *testing.T) {
	c, err := Parse("h.yaml", []byte(httpBase+"socket: /tmp/v/cli.sock\nhttp:\n  socket: /tmp/v/api.sock\n  listen: \":8080\"\n  token_file: /etc/vecnet/token\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := HTTP{Socket: "/tmp/v/api.sock", Listen: ":8080", TokenFile: "/etc/vecnet/token"}
	if c.HTTP != want {
		t.Fatalf("got %+v, want %+v", c.HTTP, want)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := Parse("m.yaml", b); err != nil || !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip: %v\n%s", err, b)
	}
	d, err := Parse("d.yaml", []byte(httpBase+"socket: /tmp/v/cli.sock\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.HTTP != (HTTP{}) || d.APISocket() != "/tmp/v/api.sock" || c.APISocket() != "/tmp/v/api.sock" {
		t.Fatalf("defaults: %+v %q", d.HTTP, d.APISocket())
	}
	if a := (&Config{}).APISocket(); a != "/run/vecnet/api.sock" {
		t.Fatalf("a Config without a socket: API on %q", a)
	}
	if a := (&Config{Socket: "/run/vecnet/demo.sock"}).APISocket(); a != "/run/vecnet/demo-api.sock" {
		t.Fatalf("demo.sock: API on %q", a)
	}
	if b, _ := Marshal(d); strings.Contains(string(b), "http") {
		t.Fatalf("unset http marshalled:\n%s", b)
	}
}

// TestHTTPErrors: each mistake is reported at its file:line:column.
func TestHTTPErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, err string }{
		{"http: {listen: \"8080\"}", "bad.yaml:3:16: http: listen: \"8080\" is not host:port"},
		{"http: {listen: \"10.0.0.1:http\", token_file: t}", "bad.yaml:3:16: http: listen: port \"http\" is not a number"},
		{"http: {listen: \"example.com:80\", token_file: t}", "bad.yaml:3:16: http: listen: host \"example.com\" is not an IP address"},
		{"http: {listen: \":80\"}", "bad.yaml:3:16: http: listen needs token_file"},
		{"http: {token_file: /t}", "bad.yaml:3:20: http: token_file is only used with listen"},
		{"http: {socket: \"\"}", "bad.yaml:3:16: http: socket: empty path"},
		{"http: {socket: /" + strings.Repeat("a", 120) + "}", "http: socket: path is 121 bytes"},
		{"http: {port: 1}", "bad.yaml:3:8: http: unknown key \"port\""},
	} {
		_, err := Parse("bad.yaml", []byte(httpBase+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", tc.yaml, err, tc.err)
		}
	}
}
