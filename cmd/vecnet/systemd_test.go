package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/internal/testutil"
)

// unitPath is the systemd unit scripts/ installs.
const unitPath = "../../scripts/vecnet.service"

// readUnit returns the unit's settings by section and key (a key set
// twice keeps both values, in order).
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a setting: %q", path, n, line)
			}
			out[section+k] = append(out[section+k], v)
		}
	}
	return out
}

// TestSystemdUnit: scripts/vecnet.service runs "vecnet run" with flags the
// binary accepts, reloads with SIGHUP, and grants the capabilities and
// memlock limit AF_XDP needs; systemd-analyze verify accepts it (pointed at
// a freshly built binary) without a warning.
func TestSystemdUnit(t *testing.T) {
	u := readUnit(t, unitPath)
	one := func(key string) string {
		if len(u[key]) != 1 {
			t.Fatalf("%s: %d values %q, want one", key, len(u[key]), u[key])
		}
		return u[key][0]
	}
	if typ := one("[Service]Type"); typ != "simple" && typ != "notify" {
		t.Errorf("Type=%s", typ)
	}
	if r := one("[Service]ExecReload"); r != "/bin/kill -HUP $MAINPID" {
		t.Errorf("ExecReload=%s, want kill -HUP", r)
	}
	if m := one("[Service]LimitMEMLOCK"); m != "infinity" {
		t.Errorf("LimitMEMLOCK=%s", m)
	}
	want := []string{"CAP_BPF", "CAP_IPC_LOCK", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN"}
	for _, k := range []string{"[Service]CapabilityBoundingSet", "[Service]AmbientCapabilities"} {
		caps := strings.Fields(one(k))
		slices.Sort(caps)
		if !slices.Equal(caps, want) {
			t.Errorf("%s=%v, want %v", k, caps, want)
		}
	}
	exec0 := strings.Fields(one("[Service]ExecStart"))
	if len(exec0) < 3 || filepath.Base(exec0[0]) != "vecnet" || exec0[1] != "run" {
		t.Fatalf("ExecStart=%v, want vecnet run ... CONFIG", exec0)
	}

	// The binary accepts ExecStart's flags: with the config swapped for a
	// file that does not exist it fails on the config (exit 1), not on the
	// command line (exit 2).
	bin := buildVecnet(t)
	args := append(exec0[1:len(exec0)-1:len(exec0)-1], filepath.Join(t.TempDir(), "absent.yaml"))
	_, errOut, code := runBin(t, "", bin, args...)
	if code != 1 || !strings.Contains(errOut, "absent.yaml") {
		t.Errorf("vecnet %s: exit %d, stderr %q; want exit 1 on the missing config", strings.Join(args, " "), code, errOut)
	}

	testutil.RequireTool(t, "systemd-analyze")
	text, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "vecnet.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(text), exec0[0]+" ", bin+" ")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", local).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
