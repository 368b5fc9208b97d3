package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/snapshot"
	"github.com/vecnet/vecnet/control/web"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/pkt/pkttest"
	"github.com/vecnet/vecnet/worker"
)

func TestMain(m *testing.M) { pkttest.Main(m) }

type fakeSource struct {
	s    snapshot.Snapshot
	topo []graph.NodeInfo
}

func (f *fakeSource) Snapshot() *snapshot.Snapshot { s := f.s; return &s }
func (f *fakeSource) Topology() []graph.NodeInfo   { return f.topo }

func newFake() *fakeSource {
	nodes := func(k uint64) []graph.NodeStats {
		return []graph.NodeStats{
			{Name: "port-input", Kind: graph.Input, Stats: graph.Stats{Calls: 10 * k, Vectors: 100 * k, Clocks: 5000 * k}},
			{Name: "ip4-input", Stats: graph.Stats{Calls: 5 * k, Vectors: 90 * k, Clocks: 900 * k}},
			{Name: "late-node", Stats: graph.Stats{Calls: k, Vectors: k}}, // not in the topology
		}
	}
	return &fakeSource{
		topo: []graph.NodeInfo{
			{Name: graph.DropNodeName, Next: []string{graph.DropNodeName}},
			{Name: "port-input", Kind: graph.Input, Next: []string{graph.DropNodeName, "ip4-input"}},
			{Name: "ip4-input", Next: []string{graph.DropNodeName, "ip4-input", "port-input"}},
		},
		s: snapshot.Snapshot{
			Time:           time.UnixMilli(1700000000123),
			TicksPerSecond: 1e9,
			Workers: []snapshot.Worker{
				{ID: 0, Up: true, Stats: statsOf(7, 100), Nodes: nodes(1), Errors: []graph.ErrorCount{
					{Node: "ip4-lookup", Name: "no_route", Help: "no route", Severity: graph.SevWarn, Count: 2},
					{Node: "ip4-input", Name: "bad_checksum", Help: "bad checksum", Count: 0},
				}},
				{ID: 1, Up: true, Stats: statsOf(3, 50), Nodes: nodes(2), Errors: []graph.ErrorCount{
					{Node: "ip4-lookup", Name: "no_route", Help: "no route", Severity: graph.SevWarn, Count: 5},
				}},
				{ID: 2, Up: false},
			},
			Interfaces: []snapshot.Interface{{Name: "ra", Driver: "afxdp", MAC: "02:00:00:00:00:01", MTU: 1500, Stats: driver.Stats{
				RxPackets: 10, RxBytes: 640, TxPackets: 9, TxBytes: 576, RxDrops: 1, TxDrops: 2, RxErrors: 3,
				Kernel: driver.KernelStats{RxDropped: 4, FillRingEmpty: 100}}}},
			Buffers: snapshot.Buffers{Slots: 100, SlotBytes: 4096, Free: 60},
			Routes:  3,
		},
	}
}

func statsOf(loops, packets uint64) (s worker.Stats) {
	s.Loops, s.Packets, s.BusyNs = loops, packets, 2_500_000_000
	return s
}

func TestBuildSumsWorkersAndKeepsArcs(t *testing.T) {
	f := newFake()
	d := web.Build(f.Snapshot(), f.Topology())
	if d.TimeMs != 1700000000123 || d.Routes != 3 || d.Buffers != (web.Buffers{Slots: 100, Free: 60, InFlight: 40}) {
		t.Errorf("time %d, routes %d, buffers %+v", d.TimeMs, d.Routes, d.Buffers)
	}
	var names []string
	for _, n := range d.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{graph.DropNodeName, "port-input", "ip4-input", "late-node"}; !slices.Equal(names, want) {
		t.Fatalf("nodes %v, want %v (topology order, then the rest)", names, want)
	}
	in, ip4 := d.Nodes[1], d.Nodes[2]
	if in.Kind != "input" || !slices.Equal(in.Next, []string{"ip4-input"}) {
		t.Errorf("port-input: kind %q next %v; want input, [ip4-input] (error-drop left out)", in.Kind, in.Next)
	}
	if !slices.Equal(ip4.Next, []string{"port-input"}) {
		t.Errorf("ip4-input next %v; want [port-input] (no self arc, no error-drop)", ip4.Next)
	}
	if ip4.Calls != 15 || ip4.Vectors != 270 || ip4.Clocks != 2700 {
		t.Errorf("ip4-input summed over workers: %+v", ip4)
	}
	if len(d.Errors) != 1 || d.Errors[0] != (web.Error{Node: "ip4-lookup", Reason: "no_route", Help: "no route", Severity: "warn", Count: 7}) {
		t.Errorf("errors %+v; want ip4-lookup/no_route 7 only", d.Errors)
	}
	if i := d.Interfaces[0]; i.Drops != 1+2+3+4 || i.RxPackets != 10 {
		t.Errorf("interface %+v; want drops 10 (port, receive errors, kernel drops; not fill-ring-empty events)", i)
	}
	if len(d.Workers) != 3 || d.Workers[2].Up || d.Workers[0].BusySeconds != 2.5 {
		t.Errorf("workers %+v", d.Workers)
	}
}

func TestHandlerRoutes(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui", web.NewHandler(newFake())))
	mux.Handle("/ui", http.StripPrefix("/ui", web.NewHandler(newFake())))
	mux.Handle("/", web.NewHandler(newFake())) // mounted at the root too
	for _, c := range []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/ui/", 200, "text/html", `<script src="app.js"`},
		{"GET", "/ui", 301, "", ""},
		{"GET", "/ui/app.js", 200, "text/javascript", "function poll()"},
		{"GET", "/ui/style.css", 200, "text/css", "#graph"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/ui/data.json", 200, "application/json", `"name":"ip4-input"`},
		{"HEAD", "/ui/data.json", 200, "application/json", ""},
		{"GET", "/", 200, "text/html", "<title>vecnet"},
		{"GET", "/data.json", 200, "application/json", `"rx_packets":10`},
		{"GET", "/ui/nothing.png", 404, "", ""},
		{"GET", "/ui/static/app.js", 200, "text/javascript", ""}, // by base name, wherever mounted
		{"POST", "/ui/data.json", 405, "", ""},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
			t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, ct, c.ctype)
		}
		if !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s %s: body lacks %q:\n%.300s", c.method, c.path, c.body, rec.Body)
		}
		if c.code == 301 && rec.Header().Get("Location") != "/ui/" {
			t.Errorf("%s %s: redirect to %q, want /ui/", c.method, c.path, rec.Header().Get("Location"))
		}
	}
}

func TestDataJSONFieldNames(t *testing.T) {
	rec := httptest.NewRecorder()
	web.NewHandler(newFake()).ServeHTTP(rec, httptest.NewRequest("GET", "/data.json", nil))
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time_ms", "ticks_per_second", "workers", "nodes", "interfaces", "errors", "buffers", "neighbors", "routes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("data.json lacks %q (app.js reads it)", k)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("data.json Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
}
