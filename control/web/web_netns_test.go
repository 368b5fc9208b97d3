package web_test

import (
	"bytes"
	"image"
	"image/png"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/web"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/internal/daemontest"
	vtestutil "github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/ip4"
)

// pageState is what the probe expression reads from the page's DOM.
type pageState struct {
	Polls    int     `json:"polls"`
	Failures int     `json:"failures"` // polls that failed (fetch or rendering)
	RxAll    float64 `json:"rx"`
	PPS      float64 `json:"pps"`
	Nodes    []struct {
		Name, VPC, CPP, Vectors, Fig string
	} `json:"nodes"`
	Arcs   int            `json:"arcs"`
	Ifaces []string       `json:"ifaces"`
	Errors []string       `json:"errors"`
	Chart  map[string]int `json:"chart"` // interface -> points drawn
}

const probe = `JSON.stringify({
  polls: +document.body.dataset.polls,
  failures: +(document.body.dataset.failures || 0),
  rx: +(document.body.dataset.rxTotal || 0),
  pps: parseFloat(document.body.dataset.pps || "0") || 0,
  nodes: [...document.querySelectorAll("#graph .node")].map(g => ({
    Name: g.dataset.node, VPC: g.dataset.vpc || "", CPP: g.dataset.cpp || "", Vectors: g.dataset.vectors || "",
    Fig: g.querySelector(".fig").textContent})),
  arcs: document.querySelectorAll("#graph .arc").length,
  ifaces: [...document.querySelectorAll("#interfaces tbody tr")].map(r => r.dataset.iface),
  errors: [...document.querySelectorAll("#errors tbody tr")].map(r => r.dataset.error).filter(Boolean),
  chart: Object.fromEntries([...document.querySelectorAll("#chart polyline")].map(p =>
    [p.dataset.iface, p.getAttribute("points").split(" ").filter(Boolean).length])),
})`

func (p *pageState) node(name string) (vpc, cpp, vectors string, ok bool) {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n.VPC, n.CPP, n.Vectors, true
		}
	}
	return "", "", "", false
}

// TestPageInChromium runs vecnet as a router with pings flowing through it
// (and some to an unrouted address), serves the page under /ui/ on a
// loopback port, opens it in headless Chromium and reads the rendered
// DOM over the DevTools protocol: the graph's nodes are drawn with their
// arcs, the busy forwarding nodes show live vectors/call and
// clocks/packet, the interfaces and the unrouted pings' error counter are
// listed, the chart has points, and the figures move from one poll to the
// next while traffic flows. It then takes a 1280x900 screenshot (written
// to docs/web.png when VECNET_UPDATE_SCREENSHOT is set).
func TestPageInChromium(t *testing.T) {
	vtestutil.RequireRoot(t)
	vtestutil.RequireTool(t, "chromium")
	rig, d := daemontest.Router(t, "vwb", "afxdp")
	daemontest.Traffic(t, rig)
	url := serveUI(t, web.NewHandler(d))
	b := startChromium(t, url, 1280, 900)

	busyNodes := []string{"port-input", // the daemon's input node
		ethernet.NodeName, ip4.InputName, ip4.LookupName, ip4.RewriteName}
	var first pageState
	waitPage(t, b, 60*time.Second, "the page's first live figures", &first, func(p *pageState) bool {
		if p.Polls < 3 || p.PPS <= 0 {
			return false
		}
		for _, name := range busyNodes {
			if vpc, cpp, _, _ := p.node(name); vpc == "" || cpp == "" {
				return false
			}
		}
		return true
	})
	for _, name := range append(busyNodes, graph.DropNodeName, driver.OutputNodeName) {
		if _, _, _, ok := first.node(name); !ok {
			t.Errorf("graph lacks node %s; drawn: %v", name, first.Nodes)
		}
	}
	if first.Arcs < len(first.Nodes)-1 {
		t.Errorf("%d arcs drawn for %d nodes", first.Arcs, len(first.Nodes))
	}
	if !slices.Equal(first.Ifaces, []string{"ra", "rb"}) {
		t.Errorf("interfaces listed: %v, want [ra rb]", first.Ifaces)
	}
	if !slices.ContainsFunc(first.Errors, func(e string) bool { return strings.HasPrefix(e, ip4.LookupName+"/") }) {
		t.Errorf("errors listed: %v; want one of %s (pings to %s)", first.Errors, ip4.LookupName, daemontest.Unrouted)
	}
	if first.Chart["ra"] < 2 {
		t.Errorf("chart: %v points; want at least 2 for ra", first.Chart)
	}
	vpc, cpp, _, _ := first.node(ip4.InputName)
	t.Logf("poll %d: %.0f packets received, %.1f pps; ip4-input %s vectors/call, %s clocks/packet; %d nodes, %d arcs",
		first.Polls, first.RxAll, first.PPS, vpc, cpp, len(first.Nodes), first.Arcs)

	// The figures move: later polls show more packets, through ip4-input too.
	var later pageState
	_, _, v0, _ := first.node(ip4.InputName)
	waitPage(t, b, 30*time.Second, "the figures to move", &later, func(p *pageState) bool {
		_, _, v, _ := p.node(ip4.InputName)
		return p.Polls >= first.Polls+2 && p.RxAll > first.RxAll && v != v0
	})
	if later.Failures != 0 {
		t.Errorf("%d of the page's polls failed (data.json or rendering)", later.Failures)
	}
	_, _, v1, _ := later.node(ip4.InputName)
	t.Logf("poll %d: %.0f packets received, %.1f pps; ip4-input vectors %s -> %s", later.Polls, later.RxAll, later.PPS, v0, v1)

	update := os.Getenv("VECNET_UPDATE_SCREENSHOT") != ""
	if update { // a chart with some history for the README
		waitPage(t, b, 90*time.Second, "a minute of history", &later, func(p *pageState) bool { return p.Polls >= first.Polls+60 })
	}
	shot, err := b.screenshot()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if sz := img.Bounds().Size(); sz != (image.Point{1280, 900}) {
		t.Errorf("screenshot is %v, want 1280x900", sz)
	}
	if update {
		out := filepath.Join("..", "..", "docs", "web.png")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(shot))
	}
}

// waitPage evaluates the probe until ok accepts the page's state or the
// timeout passes.
func waitPage(t *testing.T, b *browser, timeout time.Duration, what string, p *pageState, ok func(*pageState) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		*p = pageState{}
		err := b.eval(probe, p)
		if err == nil && ok(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: last state %+v (err %v)\nchromium:\n%s", timeout, what, *p, err, b.log)
		}
	}
}

// serveUI serves h under /ui/ on a loopback port until the test ends and
// returns the page's URL.
func serveUI(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui", h))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String() + "/ui/"
}
