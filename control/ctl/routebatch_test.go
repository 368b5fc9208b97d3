package ctl_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/control/ctl"
	"github.com/vecnet/vecnet/control/ctl/ctltest"
)

func runCommand(t *testing.T, b ctl.Backend, path string, args ...string) (string, error) {
	t.Helper()
	for _, c := range ctl.Commands(b) {
		if c.Path == path {
			var out bytes.Buffer
			err := c.Run(&out, args)
			return out.String(), err
		}
	}
	t.Fatalf("no command %q", path)
	return "", nil
}

// TestRouteBatchCommand: "ip route batch FILE" applies the file as one
// batch; a file with a bad line changes nothing.
func TestRouteBatchCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := ctltest.New()
	good := write("good", "# a feed\n10.9.0.0/16 via 10.0.1.2\nadd 10.10.0.0/16 via 10.0.1.2 10.0.1.3 dev eth0\n\n")
	out, err := runCommand(t, f, "ip route batch", good)
	if err != nil || out != "added 2, deleted 0\n" {
		t.Fatalf("ip route batch %s: %q, %v", good, out, err)
	}
	bad := write("bad", "10.11.0.0/16 via 10.0.1.2\ndel 10.9.0.0/16\n10.12.0.0/16 via banana\n")
	if _, err := runCommand(t, f, "ip route batch", bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a file with a bad line 3: %v, want an error naming line 3", err)
	}
	missing := write("missing", "del 10.9.0.0/16\ndel 10.99.0.0/16\n")
	if _, err := runCommand(t, f, "ip route batch", missing); err == nil || !strings.Contains(err.Error(), "no such route") {
		t.Fatalf("deleting a route that is not there: %v, want no such route", err)
	}
	del := write("del", "del 10.9.0.0/16\n")
	if out, err := runCommand(t, f, "ip route batch", del); err != nil || out != "added 0, deleted 1\n" {
		t.Fatalf("ip route batch %s: %q, %v", del, out, err)
	}
	rows, _ := f.FIB()
	var got []string
	for _, r := range rows {
		if r.Kind == "static" {
			got = append(got, r.Prefix)
		}
	}
	if strings.Join(got, " ") != "10.10.0.0/16" {
		t.Errorf("static routes after the batches: %v, want just 10.10.0.0/16 (a failed batch must change nothing)", got)
	}
	if _, err := runCommand(t, f, "ip route batch", filepath.Join(dir, "nope")); err == nil {
		t.Error("a file that does not exist: no error")
	}
}
