// Package web serves vecnet's live page: the node graph drawn as its nodes
// and arcs with live vectors/call and clocks/packet, the interfaces with
// their packet rates, the non-zero error counters and a packets-per-second
// chart. The page is static HTML, CSS and JavaScript embedded in the
// binary (no internet and no build step needed); it polls data.json, which
// the handler renders from a fresh snapshot each time.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/graph"
)

//go:embed static
var static embed.FS

// Source is what the page shows: counters (snapshot.Source) and the graph's
// nodes with their next nodes. *daemon.Daemon implements it.
type Source interface {
	snapshot.Source
	// Topology returns the graph's nodes with their next nodes' names, or
	// nil when no worker answered.
	Topology() []graph.NodeInfo
}

// NewHandler returns the page's handler. It serves, relative to wherever
// it is mounted (with or without http.StripPrefix): the page at the
// mount point's "/" (a request for the mount point without its trailing
// slash is redirected there, so that the page's relative links resolve),
// its app.js and style.css, and data.json, the live figures. Only GET and
// HEAD are allowed.
func NewHandler(src Source) http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &handler{src: src, files: files}
}

type handler struct {
	src   Source
	files fs.FS
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
	p := r.URL.Path
	name := "index.html"
	if !strings.HasSuffix(p, "/") {
		name = path.Base(p)
	}
	switch {
	case name == "data.json":
		h.serveData(w)
	case name != "." && name != "/" && fileExists(h.files, name):
		b, _ := fs.ReadFile(h.files, name)
		hd.Set("Content-Type", contentTypes[path.Ext(name)])
		hd.Set("Cache-Control", "no-cache")
		w.Write(b)
	case p == "" || !strings.Contains(name, "."): // the mount point without its slash
		http.Redirect(w, r, requestPath(r)+"/", http.StatusMovedPermanently)
	default:
		http.NotFound(w, r)
	}
}

// requestPath is the path the client asked for, before any
// http.StripPrefix in front of the handler.
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return r.URL.Path
}

func fileExists(files fs.FS, name string) bool {
	st, err := fs.Stat(files, name)
	return err == nil && !st.IsDir()
}

func (h *handler) serveData(w http.ResponseWriter) {
	d := Build(h.src.Snapshot(), h.src.Topology())
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	if err := enc.Encode(d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
