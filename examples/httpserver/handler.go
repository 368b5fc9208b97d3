package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// maxBytes bounds GET /bytes/N.
const maxBytes = 1 << 30

// pattern is the repeating content of GET /bytes/N.
var pattern = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}()

// Bytes returns the first n bytes GET /bytes/n serves (for tests).
func Bytes(n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, pattern[:min(len(pattern), n-len(out))]...)
	}
	return out
}

// newHandler returns the server's routes.
func newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from httpserver\n")
	})
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > maxBytes {
			http.Error(w, "bad length", http.StatusBadRequest)
			return
		}
		h := sha256.New()
		for left := n; left > 0; left -= min(left, len(pattern)) {
			h.Write(pattern[:min(left, len(pattern))])
		}
		w.Header().Set("X-Sha256", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Header().Set("Content-Type", "application/octet-stream")
		for left := n; left > 0; {
			k := min(left, len(pattern))
			if _, err := w.Write(pattern[:k]); err != nil {
				return
			}
			left -= k
		}
	})
	mux.HandleFunc("POST /sha256", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, hex.EncodeToString(h.Sum(nil))+"\n")
	})
	return mux
}

// serve runs http.Serve on l until ctx is done, then shuts the server down.
func serve(ctx context.Context, l net.Listener, ready func(net.Addr)) error {
	srv := &http.Server{Handler: newHandler(), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(l.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := srv.Shutdown(sctx)
		cancel()
		if err != nil {
			_ = srv.Close()
		}
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			return e
		}
		return nil
	case err := <-errc:
		return err
	}
}
