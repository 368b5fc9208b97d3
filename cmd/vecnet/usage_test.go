package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

// runBin runs bin with args in dir and returns its stdout, stderr and exit
// status.
func runBin(t *testing.T, dir, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &o, &e
	err := cmd.Run()
	return o.String(), e.String(), exitCode(err)
}

// TestUsage runs the built binary for every command and subcommand with
// -h, --help and help (usage on stdout, nothing on stderr, exit 0), with a
// stray argument and with an unknown flag (nothing on stdout, the error and
// a one-line hint to the command's help on stderr, exit 2). The working
// directory holds files named "-h", "help" and "extra" that are not
// configs: a command that took one for its CONFIG would fail with exit 1.
func TestUsage(t *testing.T) {
	bin := buildVecnet(t)
	dir := t.TempDir()
	for _, f := range []string{"-h", "help", "extra", "--help"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not: [a config"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path  []string // the command
		stray []string // arguments one too many
	}{
		{nil, []string{"nosuch"}},
		{[]string{"run"}, []string{"extra", "extra"}},
		{[]string{"replay"}, []string{"extra", "extra"}},
		{[]string{"demo"}, []string{"extra"}},
		{[]string{"bench"}, []string{"nosuch"}},
		{[]string{"bench", "forward"}, []string{"extra"}},
		{[]string{"bench", "dns"}, []string{"extra"}},
		{[]string{"bench", "http"}, []string{"extra"}},
		{[]string{"bench", "memif"}, []string{"extra"}},
		{[]string{"version"}, []string{"extra"}},
	} {
		name := strings.Join(append([]string{"vecnet"}, tc.path...), " ")
		with := func(args ...string) []string { return append(append([]string(nil), tc.path...), args...) }
		for _, h := range [][]string{with("-h"), with("--help"), with("-help"), with("help"), append([]string{"help"}, tc.path...)} {
			out, errOut, code := runBin(t, dir, bin, h...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: "+name+" ") {
				t.Errorf("vecnet %s: exit %d, stdout %q, stderr %q; want usage of %q on stdout, exit 0",
					strings.Join(h, " "), code, headLine(out), errOut, name)
			}
		}
		for _, bad := range [][]string{with(tc.stray...), with("-no-such-flag")} {
			out, errOut, code := runBin(t, dir, bin, bad...)
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			hint := fmt.Sprintf("run '%s -h' for usage", name)
			if code != 2 || out != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], name+": ") || lines[1] != hint {
				t.Errorf("vecnet %s: exit %d, stdout %q, stderr %q; want exit 2, the error and %q on stderr",
					strings.Join(bad, " "), code, out, errOut, hint)
			}
		}
	}
}

func headLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestVersion: "vecnet version" and "vecnet --version" print the module
// path and version and the Go version from the binary's build info.
func TestVersion(t *testing.T) {
	bin := buildVecnet(t)
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, errOut, code := runBin(t, "", bin, args...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "vecnet github.com/vecnet/vecnet ") ||
			!strings.Contains(out, "\ngo "+runtime.Version()+"\n") {
			t.Errorf("vecnet %s: exit %d, stdout %q, stderr %q", args[0], code, out, errOut)
		}
	}
}

// TestWriteVersion: the revision line carries the VCS revision, time and
// whether the checkout was modified.
func TestWriteVersion(t *testing.T) {
	for _, tc := range []struct {
		v    buildVersion
		want string
	}{
		{buildVersion{Module: "m", Version: "v1.2.3", GoVersion: "go1.26"}, "vecnet m v1.2.3\ngo go1.26\n"},
		{buildVersion{Module: "m", Version: "(devel)", GoVersion: "go1.26", Revision: "abc", Time: "2026-01-02T03:04:05Z", Modified: true},
			"vecnet m (devel)\nrevision abc 2026-01-02T03:04:05Z (modified)\ngo go1.26\n"},
	} {
		var b bytes.Buffer
		writeVersion(&b, tc.v)
		if b.String() != tc.want {
			t.Errorf("writeVersion(%+v) = %q, want %q", tc.v, b.String(), tc.want)
		}
	}
}

// TestJSONLogs runs "vecnet run -log-format json" on a pcap-port config
// until SIGTERM: every line on stderr is a JSON object with time, level
// and msg, among them the CLI socket's and the stop's.
func TestJSONLogs(t *testing.T) {
	bin := buildVecnet(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "cli.sock")
	in := filepath.Join(dir, "in.pcap")
	writePcap(t, in, nil)
	cfgPath := filepath.Join(dir, "router.yaml")
	cfg := fmt.Sprintf(`socket: %s
interfaces:
  - {name: eth0, driver: pcap, mac: "02:00:00:00:00:01", addresses: [10.0.1.1/24], pcap_in: %s, pcap_out: %s}
`, sock, in, filepath.Join(dir, "out.pcap"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-log-format", "json", "-log-level", "debug", cfgPath)
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	testutil.Eventually(t, 30*time.Second, "the CLI socket logged", func() bool {
		return strings.Contains(stderr.String(), sock)
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("vecnet run: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM")
	}
	msgs := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %q has no %q", line, k)
			}
		}
		msgs[rec["msg"].(string)] = rec
	}
	if rec := msgs["CLI listening"]; rec == nil || rec["socket"] != sock || rec["level"] != "INFO" {
		t.Errorf("no INFO \"CLI listening\" line with socket %s: %v", sock, msgs)
	}
	if rec := msgs["stopping"]; rec == nil || rec["signal"] != "terminated" {
		t.Errorf("no \"stopping\" line with signal terminated: %v", msgs)
	}
}
