package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// TestHTTPAPIRoutes drives a running vecnet through its HTTP API with curl
// on the unix socket: a route added with POST /api/v1/routes makes a
// prefix behind host B reachable from host A through vecnet, and DELETE
// takes it away again; GET shows the FIB and the interfaces; the JSON of
// GET /api/v1/interfaces equals "show interfaces --json"'s field names.
func TestHTTPAPIRoutes(t *testing.T) {
	testutil.RequireTool(t, "curl")
	testutil.RequireTool(t, "ip")
	dir := t.TempDir()
	rig, d := rigRouter(t, topo.RigOptions{Prefix: "vh"}, "afpacket", "", func(cfg *config.Config) {
		cfg.Socket = filepath.Join(dir, "cli.sock")
	}, daemon.Options{})
	sock := filepath.Join(dir, "api.sock")
	curl := func(method, path, body string) (int, string) {
		t.Helper()
		args := []string{"-sS", "--max-time", "10", "--unix-socket", sock, "-X", method, "-w", "\n%{http_code}", "http://vecnet" + path}
		if len(body) > 32<<10 { // above the argument length limit: from a file
			f := filepath.Join(dir, "body.json")
			if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-H", "Content-Type: application/json", "--data-binary", "@"+f)
		} else if body != "" {
			args = append(args, "-H", "Content-Type: application/json", "-d", body)
		}
		out, err := exec.Command("curl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s %s: %v\n%s", method, path, err, out)
		}
		s := strings.TrimSpace(string(out))
		k := strings.LastIndexByte(s, '\n')
		code := 0
		for _, c := range s[k+1:] {
			code = code*10 + int(c-'0')
		}
		return code, s[:max(k, 0)]
	}
	// A prefix only host B has: unreachable until vecnet routes it there.
	const far = "10.99.0.1"
	mustRun(t, d, rig.B, "ip", "addr", "add", far+"/32", "dev", "lo")
	ping := func() error {
		_, err := rig.A.Run("ping", "-c", "1", "-W", "2", far)
		return err
	}
	if err := ping(); err == nil {
		t.Fatalf("%s answered before any route to it", far)
	}

	if code, out := curl("POST", "/api/v1/routes", `{"prefix": "10.99.0.0/24", "via": ["`+topo.HostBAddr+`"]}`); code != 201 {
		t.Fatalf("POST /api/v1/routes: %d %s", code, out)
	}
	code, out := curl("GET", "/api/v1/fib", "")
	var fib []ctl.FIBRow
	if err := json.Unmarshal([]byte(out), &fib); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/fib: %d %v %s", code, err, out)
	}
	found := false
	for _, r := range fib {
		if r.Prefix == "10.99.0.0/24" && r.Kind == "static" && len(r.Paths) == 1 && r.Paths[0].Interface == topo.RouterB {
			found = true
		}
	}
	if !found {
		t.Fatalf("the route is not in the FIB: %s", out)
	}
	if err := ping(); err != nil {
		t.Fatalf("%s unreachable with the route: %v\n%s", far, err, errorsText(d))
	}

	if code, out := curl("DELETE", "/api/v1/routes/10.99.0.0/24", ""); code != 204 {
		t.Fatalf("DELETE /api/v1/routes: %d %s", code, out)
	}
	if err := ping(); err == nil {
		t.Fatalf("%s still answers after the route's deletion", far)
	}
	if code, out := curl("DELETE", "/api/v1/routes/10.99.0.0/24", ""); code != 404 || !strings.Contains(out, `"error"`) {
		t.Fatalf("second DELETE: %d %s, want 404 with an error", code, out)
	}
	if code, out := curl("POST", "/api/v1/routes", `{"prefix": "10.98.0.0/24", "via": ["10.55.0.1"]}`); code != 400 || !strings.Contains(out, "connected subnet") {
		t.Fatalf("unreachable next hop: %d %s, want 400", code, out)
	}

	// A batch of 10 000 routes through the API, one of them the far
	// prefix: it forwards; a delete batch with a route that is not there
	// changes nothing; the good one withdraws them all (one View each).
	var batch, unbatch strings.Builder
	batch.WriteString(`[{"prefix": "10.99.0.0/24", "via": ["` + topo.HostBAddr + `"]}`)
	unbatch.WriteString(`[{"prefix": "10.99.0.0/24", "delete": true}`)
	for i := range 9999 {
		fmt.Fprintf(&batch, `,{"prefix": "172.%d.%d.0/24", "via": ["%s"]}`, 16+i/256, i%256, topo.HostBAddr)
		fmt.Fprintf(&unbatch, `,{"prefix": "172.%d.%d.0/24", "delete": true}`, 16+i/256, i%256)
	}
	if code, out := curl("POST", "/api/v1/routes/batch", batch.String()+"]"); code != 200 || !strings.Contains(out, `"added": 10000`) {
		t.Fatalf("POST /api/v1/routes/batch: %d %s", code, out)
	}
	if err := ping(); err != nil {
		t.Fatalf("%s unreachable after the batch: %v\n%s", far, err, errorsText(d))
	}
	if n := d.DP.FIB.Load().Len(); n < 10000 {
		t.Fatalf("%d prefixes after a batch of 10 000", n)
	}
	if code, out := curl("POST", "/api/v1/routes/batch", unbatch.String()+`,{"prefix": "10.97.0.0/24", "delete": true}]`); code != 404 {
		t.Fatalf("a delete batch with a missing route: %d %s, want 404", code, out)
	}
	if err := ping(); err != nil {
		t.Fatalf("a failed batch withdrew %s: %v", far, err)
	}
	if code, out := curl("POST", "/api/v1/routes/batch", unbatch.String()+"]"); code != 200 || !strings.Contains(out, `"deleted": 10000`) {
		t.Fatalf("the delete batch: %d %s", code, out)
	}
	if err := ping(); err == nil {
		t.Fatalf("%s still answers after the delete batch", far)
	}
	// The same through the CLI: ip route batch FILE.
	file := filepath.Join(dir, "routes")
	if err := os.WriteFile(file, []byte("# via host B\n10.99.0.0/24 via "+topo.HostBAddr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var cliOut strings.Builder
	if err := d.CLI.Exec(&cliOut, "ip route batch "+file); err != nil || cliOut.String() != "added 1, deleted 0\n" {
		t.Fatalf("ip route batch: %q %v", cliOut.String(), err)
	}
	if err := ping(); err != nil {
		t.Fatalf("%s unreachable after ip route batch: %v", far, err)
	}
	if code, out := curl("DELETE", "/api/v1/routes/10.99.0.0/24", ""); code != 204 {
		t.Fatalf("DELETE after the CLI batch: %d %s", code, out)
	}

	// The CLI's JSON and the API's are one renderer over one backend.
	var cliFIB strings.Builder
	if err := d.CLI.Exec(&cliFIB, "show fib --json"); err != nil {
		t.Fatal(err)
	}
	if _, apiFIB := curl("GET", "/api/v1/fib", ""); strings.TrimSpace(apiFIB) != strings.TrimSpace(cliFIB.String()) {
		t.Errorf("show fib --json:\n%s\nGET /api/v1/fib:\n%s", cliFIB.String(), apiFIB)
	}

	// An address added through the API is vecnet's at once: host B, given
	// one in the new subnet, pings it.
	if code, out := curl("POST", "/api/v1/interfaces/"+topo.RouterB+"/addresses", `{"address": "10.88.0.1/24"}`); code != 201 {
		t.Fatalf("POST addresses: %d %s", code, out)
	}
	mustRun(t, d, rig.B, "ip", "addr", "add", "10.88.0.2/24", "dev", topo.HostDev)
	mustRun(t, d, rig.B, "ping", "-c", "1", "-W", "3", "10.88.0.1")
	if code, out := curl("POST", "/api/v1/interfaces/"+topo.RouterB+"/addresses", `{"address": "10.88.0.9/24"}`); code != 409 {
		t.Fatalf("a second address in the subnet: %d %s, want 409", code, out)
	}
	if code, out := curl("POST", "/api/v1/interfaces/nope/addresses", `{"address": "10.89.0.1/24"}`); code != 404 {
		t.Fatalf("unknown interface: %d %s, want 404", code, out)
	}
	// And removed: the address no longer answers, a second DELETE is 404.
	if code, out := curl("DELETE", "/api/v1/interfaces/"+topo.RouterB+"/addresses/10.88.0.1/24", ""); code != 204 {
		t.Fatalf("DELETE address: %d %s", code, out)
	}
	if out, err := rig.B.Run("ping", "-c", "1", "-W", "1", "10.88.0.1"); err == nil {
		t.Fatalf("10.88.0.1 still answers after DELETE:\n%s", out)
	}
	if code, out := curl("DELETE", "/api/v1/interfaces/"+topo.RouterB+"/addresses/10.88.0.1/24", ""); code != 404 {
		t.Fatalf("second DELETE address: %d %s, want 404", code, out)
	}

	// A static neighbour added and deleted.
	if code, out := curl("POST", "/api/v1/neighbors", `{"interface": "`+topo.RouterB+`", "ip": "10.77.2.50", "mac": "02:00:00:00:00:50"}`); code != 201 {
		t.Fatalf("POST neighbors: %d %s", code, out)
	}
	if _, out := curl("GET", "/api/v1/neighbors", ""); !strings.Contains(out, `"ip": "10.77.2.50"`) || !strings.Contains(out, `"type": "static"`) {
		t.Fatalf("the neighbour is not shown: %s", out)
	}
	if code, out := curl("DELETE", "/api/v1/neighbors/"+topo.RouterB+"/10.77.2.50", ""); code != 204 {
		t.Fatalf("DELETE neighbors: %d %s", code, out)
	}
	if _, out := curl("GET", "/api/v1/neighbors", ""); strings.Contains(out, "10.77.2.50") {
		t.Fatalf("the neighbour is still shown: %s", out)
	}

	// rb administratively down: host B is cut off, the drops are counted;
	// up again, it answers.
	if code, out := curl("POST", "/api/v1/interfaces/"+topo.RouterB+"/down", ""); code != 204 {
		t.Fatalf("POST down: %d %s", code, out)
	}
	if _, out := curl("GET", "/api/v1/interfaces", ""); !strings.Contains(out, `"admin_state": "down"`) {
		t.Fatalf("rb not shown down: %s", out)
	}
	if _, err := rig.A.Run("ping", "-c", "1", "-W", "2", topo.HostBAddr); err == nil {
		t.Fatalf("host B answered through an interface set down")
	}
	if _, out := curl("GET", "/api/v1/errors", ""); !strings.Contains(out, `"reason": "interface_down"`) {
		t.Fatalf("no interface_down drops counted: %s", out)
	}
	if code, out := curl("POST", "/api/v1/interfaces/"+topo.RouterB+"/up", ""); code != 204 {
		t.Fatalf("POST up: %d %s", code, out)
	}
	mustRun(t, d, rig.A, "ping", "-c", "1", "-W", "3", topo.HostBAddr)

	code, out = curl("GET", "/api/v1/interfaces", "")
	var ifs []map[string]any
	if err := json.Unmarshal([]byte(out), &ifs); code != 200 || err != nil || len(ifs) != 2 {
		t.Fatalf("GET /api/v1/interfaces: %d %v %s", code, err, out)
	}
	if ifs[0]["name"] != topo.RouterA || ifs[0]["driver"] != "afpacket" || ifs[0]["rx_packets"].(float64) == 0 {
		t.Errorf("interfaces: %s", out)
	}

	// A capture through the API, read back by tshark; a reload with no
	// config file is refused and changes nothing.
	pcapFile := filepath.Join(dir, "api.pcapng")
	if code, out := curl("POST", "/api/v1/capture", `{"rx": true, "tx": true, "max": 8, "file": "`+pcapFile+`"}`); code != 204 {
		t.Fatalf("POST capture: %d %s", code, out)
	}
	if code, out := curl("POST", "/api/v1/capture", `{"rx": true, "file": "`+pcapFile+`2"}`); code != 409 {
		t.Fatalf("a second capture: %d %s, want 409", code, out)
	}
	mustRun(t, d, rig.A, "ping", "-c", "3", "-W", "3", topo.HostBAddr)
	if code, out := curl("DELETE", "/api/v1/capture", ""); code != 200 || !strings.Contains(out, `"status"`) {
		t.Fatalf("DELETE capture: %d %s", code, out)
	}
	if _, err := exec.LookPath("tshark"); err == nil || os.Getenv("CI") != "" {
		out, err := exec.Command("tshark", "-r", pcapFile, "-T", "fields", "-e", "icmp.type").Output()
		if n := len(strings.Fields(string(out))); err != nil || n == 0 || n > 8 {
			t.Fatalf("tshark -r the API's capture: %v, %d ICMP packets (want 1..8)\n%s", err, n, out)
		}
	}
	if code, out := curl("POST", "/api/v1/reload", ""); code != 400 || !strings.Contains(out, "config file") {
		t.Fatalf("POST reload without a config file: %d %s, want 400", code, out)
	}

	// Prometheus and the live page are on the same socket: what an
	// operator scrapes passes promtool, and the page is served.
	code, metrics := curl("GET", "/metrics", "")
	if code != 200 || !strings.Contains(metrics, "vecnet_build_info") || !strings.Contains(metrics, "vecnet_interface_rx_packets_total{") {
		t.Fatalf("GET /metrics: %d\n%.2000s", code, metrics)
	}
	if _, err := exec.LookPath("promtool"); err == nil || os.Getenv("CI") != "" {
		check := exec.Command("promtool", "check", "metrics")
		check.Stdin = strings.NewReader(metrics + "\n")
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics on the API socket's /metrics: %v\n%s", err, out)
		}
	}
	if code, page := curl("GET", "/ui/", ""); code != 200 || !strings.Contains(page, "<html") {
		t.Errorf("GET /ui/: %d %.300s", code, page)
	}
}
