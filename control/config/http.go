package config

import (
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// HTTP says where the HTTP API (package control/api) listens. YAML key:
// http.
type HTTP struct {
	// Socket is the API's unix socket (mode 0600); default beside the CLI
	// socket, api.sock for cli.sock (see Config.APISocket). YAML: socket.
	Socket string
	// Listen is an optional TCP address, host:port (port 0 picks a free
	// one); an empty host means loopback, 127.0.0.1. Requires TokenFile.
	// YAML: listen.
	Listen string
	// TokenFile holds the bearer token TCP clients must send (surrounding
	// white space is ignored); required with Listen and only with it. The
	// daemon reads it when it starts. YAML: token_file.
	TokenFile string
}

// APISocket returns the HTTP API's unix socket: HTTP.Socket, else beside
// the CLI socket: api.sock for cli.sock, NAME-api.sock for NAME.sock (so
// that daemons with their own CLI sockets in one directory do not share
// it).
func (c *Config) APISocket() string {
	if c.HTTP.Socket != "" {
		return c.HTTP.Socket
	}
	cli := c.Socket
	if cli == "" { // a Config built in code rather than parsed
		cli = DefaultSocket
	}
	dir, base := filepath.Split(cli)
	if base == "cli.sock" {
		return filepath.Join(dir, "api.sock")
	}
	return filepath.Join(dir, strings.TrimSuffix(base, ".sock")+"-api.sock")
}

// fileHTTP mirrors HTTP for Marshal.
type fileHTTP struct {
	Socket    string `yaml:"socket,omitempty"`
	Listen    string `yaml:"listen,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
}

// file returns h for Marshal, nil when every field is unset.
func (h HTTP) file() *fileHTTP {
	if h == (HTTP{}) {
		return nil
	}
	return &fileHTTP{Socket: h.Socket, Listen: h.Listen, TokenFile: h.TokenFile}
}

// http decodes the http mapping.
func (w *walker) http(n *yaml.Node) HTTP {
	var h HTTP
	m := w.fields(n, "http", "socket", "listen", "token_file")
	if m == nil {
		return h
	}
	if v, ok := m["socket"]; ok {
		if s, ok := w.str(v, "http: socket"); ok {
			switch {
			case s == "":
				w.errorf(v, "http: socket: empty path")
			case len(s) > maxSocketPath:
				w.errorf(v, "http: socket: path is %d bytes, a unix socket path has at most %d", len(s), maxSocketPath)
			default:
				h.Socket = s
			}
		}
	}
	if v, ok := m["listen"]; ok {
		if s, ok := w.str(v, "http: listen"); ok {
			host, port, err := net.SplitHostPort(s)
			_, perr := strconv.ParseUint(port, 10, 16)
			_, aerr := netip.ParseAddr(host)
			switch {
			case err != nil:
				w.errorf(v, "http: listen: %q is not host:port (such as 127.0.0.1:8080 or :8080 for loopback)", s)
			case perr != nil:
				w.errorf(v, "http: listen: port %q is not a number 0..65535", port)
			case host != "" && host != "localhost" && aerr != nil:
				w.errorf(v, "http: listen: host %q is not an IP address", host)
			default:
				h.Listen = s
			}
		}
	}
	if v, ok := m["token_file"]; ok {
		if s, ok := w.str(v, "http: token_file"); ok {
			if s == "" {
				w.errorf(v, "http: token_file: empty path")
			} else {
				h.TokenFile = s
			}
		}
	}
	_, hasListen := m["listen"]
	_, hasToken := m["token_file"]
	switch {
	case hasListen && !hasToken:
		w.errorf(m["listen"], "http: listen needs token_file (TCP clients must send a bearer token)")
	case hasToken && !hasListen:
		w.errorf(m["token_file"], "http: token_file is only used with listen")
	}
	return h
}
