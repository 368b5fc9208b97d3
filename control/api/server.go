// Package api is vecnet's HTTP API: JSON under /api/v1/ over a ctl.Backend
// (every show command and every change the CLI can make), errors as
// {"error": "..."} with their status (400 bad input, 401 no or wrong token,
// 404 unknown, 405 wrong method, 409 conflict, 501 unsupported, 503 a
// worker did not answer), and its OpenAPI 3 description at
// /api/v1/openapi.json.
//
// A Server listens on a unix socket (mode 0600: only its owner, root for
// the daemon, may connect) and optionally on a TCP address, where every
// request must carry "Authorization: Bearer TOKEN" (compared in constant
// time). Other handlers (metrics, a web page) join the same listeners with
// Mount, under the same rules.
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/control/ctl"
)

// OpenAPI is the API's OpenAPI 3 description, served at
// /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// maxBody bounds a request body.
const maxBody = 64 << 10

// Config says where a Server listens.
type Config struct {
	// Socket is the unix socket's path (mode 0600); empty for none.
	Socket string
	// Listen is a TCP address, host:port; empty for none. An empty host
	// means loopback (127.0.0.1), never every address.
	Listen string
	// Token is the bearer token TCP clients must send; required with
	// Listen.
	Token string
}

// Server serves the API. Create it with New, add handlers with Mount, then
// Start it; Close stops it.
type Server struct {
	b     ctl.Backend
	mux   *http.ServeMux
	token []byte

	mu      sync.Mutex
	started bool
	https   []*http.Server
	lns     []net.Listener
	addrs   []net.Addr
	sock    string      // the unix socket's path
	sockFI  os.FileInfo // and the file we created, so Close removes only ours
	wg      sync.WaitGroup
}

// New returns a server of b's API and its OpenAPI description.
func New(b ctl.Backend) *Server {
	s := &Server{b: b, mux: http.NewServeMux()}
	byPath := map[string][]Route{}
	var paths []string
	for _, r := range Routes {
		if byPath[r.Path] == nil {
			paths = append(paths, r.Path)
		}
		byPath[r.Path] = append(byPath[r.Path], r)
	}
	for _, p := range paths {
		s.mux.Handle(p, s.methods(byPath[p]))
	}
	s.mux.HandleFunc("/api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI)
	})
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return s
}

// Mount serves h for pattern (net/http's ServeMux syntax, such as
// "/metrics" or "/") on the server's listeners, behind the same access
// rules. It may be called before or after Start.
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's handler without the TCP token check (what
// the unix socket serves).
func (s *Server) Handler() http.Handler { return s.mux }

// methods dispatches one path's routes by method: another method is 405
// with the Allow header.
func (s *Server) methods(routes []Route) http.Handler {
	var allow []string
	for _, r := range routes {
		allow = append(allow, r.Method)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, r := range routes {
			if r.Method == req.Method {
				status, body, err := r.Handle(s.b, req)
				if err != nil {
					writeError(w, statusOf(err), err.Error())
					return
				}
				writeJSON(w, status, body)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", req.Method, req.URL.Path, strings.Join(allow, ", ")))
	})
}

// statusOf maps an operation's error to its HTTP status.
func statusOf(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	switch ctl.KindOf(err) {
	case ctl.BadInput:
		return http.StatusBadRequest
	case ctl.NotFound:
		return http.StatusNotFound
	case ctl.Conflict:
		return http.StatusConflict
	case ctl.Unsupported:
		return http.StatusNotImplemented
	case ctl.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is every error response's body.
type ErrorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error": "encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON request body into v: unknown fields, trailing data
// and bodies over 64 KiB are errors.
func decode(r *http.Request, v any) error { return decodeLimit(r, v, maxBody) }

// maxBatchBody bounds a route batch's body (1 M changes are about 60 MB).
const maxBatchBody = 256 << 20

// decodeLimit is decode with a body bound of limit bytes.
func decodeLimit(r *http.Request, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return ctl.Errorf(ctl.BadInput, "request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ctl.Errorf(ctl.BadInput, "request body: data after the JSON value")
	}
	return nil
}

// requireToken refuses requests without "Authorization: Bearer TOKEN".
func requireToken(token []byte, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vecnet"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ListenAddr is the address Start binds for a Listen of host:port: an
// empty host is loopback.
func ListenAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Start listens as c says and serves until Close.
func (s *Server) Start(c Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("api: started twice")
	}
	s.started = true
	if c.Socket != "" {
		ln, fi, err := cli.ListenSocket(c.Socket)
		if err != nil {
			return fmt.Errorf("api: %w", err)
		}
		s.sock, s.sockFI = c.Socket, fi
		s.serve(ln, s.mux, &net.UnixAddr{Name: c.Socket, Net: "unix"})
	}
	if c.Listen != "" {
		if c.Token == "" {
			s.closeLocked()
			return errors.New("api: a TCP listener needs a token")
		}
		addr, err := ListenAddr(c.Listen)
		if err != nil {
			s.closeLocked()
			return fmt.Errorf("api: listen %q: %w", c.Listen, err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeLocked()
			return fmt.Errorf("api: %w", err)
		}
		s.serve(ln, requireToken([]byte(c.Token), s.mux), ln.Addr())
	}
	return nil
}

func (s *Server) serve(ln net.Listener, h http.Handler, addr net.Addr) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	s.https = append(s.https, hs)
	s.lns = append(s.lns, ln)
	s.addrs = append(s.addrs, addr)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		hs.Serve(ln)
	}()
}

// Addrs returns the addresses the server listens on (the unix socket's
// path, the TCP address with its port).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Close stops listening, closes every connection, waits for the handlers
// and removes the unix socket it created.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Server) closeLocked() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	var errs []error
	for _, hs := range s.https {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
	}
	cancel()
	s.wg.Wait()
	for _, ln := range s.lns {
		ln.Close()
	}
	s.https, s.lns, s.addrs = nil, nil, nil
	if s.sock != "" {
		if fi, err := os.Lstat(s.sock); err == nil && os.SameFile(fi, s.sockFI) {
			if err := os.Remove(s.sock); err != nil {
				errs = append(errs, err)
			}
		}
		s.sock = ""
	}
	return errors.Join(errs...)
}
