package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/internal/testutil"
)

// TestRunSIGHUPReloads: SIGHUP makes "vecnet run" re-read its config file
// and apply it (a route appears in show fib) instead of killing the
// daemon; a config that does not parse is logged with its file:line and
// the daemon keeps running; SIGTERM then stops it cleanly.
func TestRunSIGHUPReloads(t *testing.T) {
	bin := buildVecnet(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "cli.sock")
	cfgPath := filepath.Join(dir, "vecnet.yaml")
	cfg := func(routes string) string {
		return fmt.Sprintf("workers: 1\nsocket: %s\ninterfaces:\n  - name: m0\n    driver: mem\n    addresses: [10.0.0.1/24]\n%s", sock, routes)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg("")), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd := exec.Command(bin, "run", cfgPath)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	call := func(line string) string {
		out, err := cli.Call(sock, line)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(out)
	}
	testutil.Eventually(t, 20*time.Second, "the CLI socket answers", func() bool {
		return !strings.HasPrefix(call("show fib"), "error")
	})

	if err := os.WriteFile(cfgPath, []byte(cfg("routes:\n  - prefix: 192.0.2.0/24\n    via: [10.0.0.2]\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	testutil.Eventually(t, 10*time.Second, "the route of the reloaded config in show fib", func() bool {
		select {
		case <-exited:
			return true // reported below
		default:
		}
		return strings.Contains(call("show fib"), "192.0.2.0/24")
	})
	select {
	case <-exited:
		t.Fatalf("vecnet exited on SIGHUP: %v\n%s", waitErr, stderr.String())
	default:
	}

	// A broken file: logged, nothing changes, the daemon stays.
	if err := os.WriteFile(cfgPath, []byte("workers: 1\ninterfaces:\n  - name: m0\n    driver: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	testutil.Eventually(t, 10*time.Second, "the reload error logged", func() bool {
		return strings.Contains(stderr.String(), cfgPath+":4:")
	})
	if !strings.Contains(call("show fib"), "192.0.2.0/24") {
		t.Errorf("a refused reload changed the FIB:\n%s", call("show fib"))
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitCode(waitErr) < 0 {
			t.Errorf("vecnet killed by a signal after SIGTERM: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("vecnet did not stop on SIGTERM:\n%s", stderr.String())
	}
}
