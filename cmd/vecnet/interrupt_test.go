package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

// buildVecnet builds this command into a temporary directory.
func buildVecnet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vecnet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// exitCode is the status a finished command exited with (-1 if a signal
// killed it).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestStrayArgumentsAreUsageErrors: "vecnet demo foo" and "vecnet bench
// forward foo" exit 2 with a usage message before they start anything.
func TestStrayArgumentsAreUsageErrors(t *testing.T) {
	bin := buildVecnet(t)
	for _, args := range [][]string{
		{"demo", "foo"},
		{"demo", "-seconds", "1", "foo"},
		{"bench", "forward", "foo"},
		{"bench", "forward", "-rounds", "1", "foo", "bar"},
		{"bench", "dns", "foo"},
		{"bench", "nothing"},
	} {
		cmd := exec.Command(bin, args...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 2 {
			t.Errorf("vecnet %s: exit %d, want 2\n%s", strings.Join(args, " "), code, out)
		}
		if !strings.Contains(string(out), "usage") {
			t.Errorf("vecnet %s: no usage message:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(string(out), "==") || time.Since(start) > 10*time.Second {
			t.Errorf("vecnet %s started anyway:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestBenchForwardSIGTERM stops "vecnet bench forward" with SIGTERM in the
// middle of a round, while the generator floods: it must stop the
// generator and the router before it removes the rig, exit 130 (not crash
// on the unmapped TX ring) and leave no namespace behind.
func TestBenchForwardSIGTERM(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip")
	bin := buildVecnet(t)
	// afxdp only: the crash needs the generator's TX ring, which every
	// configuration uses, and each run floods the machine for a moment.
	for _, cfg := range []string{"afxdp"} {
		t.Run(cfg, func(t *testing.T) {
			cmd := exec.Command(bin, "bench", "forward", "-rounds", "2", "-seconds", "30", "-configs", cfg, "-png", "")
			var log testutil.SyncBuffer
			cmd.Stdout, cmd.Stderr = io.Discard, &log
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
			testutil.Eventually(t, 90*time.Second, "a round running", func() bool { return strings.Contains(log.String(), "running") })
			// The generator floods the rig's TX ring for the next 30 s.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var werr error
			select {
			case werr = <-exited:
				exited <- werr // for the cleanup
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30 s after SIGTERM")
			}
			if code := exitCode(werr); code != 130 {
				t.Errorf("exit %d (%v), want 130\n%s", code, werr, log.String())
			}
			for _, bad := range []string{"SIGSEGV", "panic", "goroutine "} {
				if strings.Contains(log.String(), bad) {
					t.Errorf("stderr mentions %q:\n%s", bad, log.String())
				}
			}
			list := testutil.Run(t, "ip", "netns", "list")
			if strings.Contains(list, fmt.Sprintf("vnb%d-", cmd.Process.Pid)) {
				t.Errorf("namespaces left behind:\n%s", list)
			}
		})
	}
}
