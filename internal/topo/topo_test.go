package topo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

func TestRigKernelForwardingAndClose(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ping")
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "tt"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.Close() })
	if err := rig.KernelForwarding(); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.A.Run("ping", "-c", "1", "-W", "2", topo.HostBAddr); err != nil {
		t.Fatalf("ping through the kernel router: %v\n%s", err, out)
	}
	if err := rig.Close(); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), rig.R.Name) {
		t.Fatalf("namespace %s left behind", rig.R.Name)
	}
}

// TestSweepStale: a namespace whose maker died without deleting it is
// removed by the next maker; one whose maker runs stays.
func TestSweepStale(t *testing.T) {
	testutil.RequireRoot(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan, alive := testutil.Name("swo"), testutil.Name("swa")
	for _, name := range []string{orphan, alive} {
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run(); topo.Release(name) })
	}
	topo.Claim(alive) // this process: running
	if err := os.WriteFile(filepath.Join(topo.OwnerDir, orphan), []byte(strconv.Itoa(dead.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	swept := topo.SweepStale()
	if !slices.Contains(swept, orphan) || slices.Contains(swept, alive) {
		t.Errorf("swept %v, want %s and not %s", swept, orphan, alive)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), orphan) {
		t.Errorf("orphan namespace %s still there", orphan)
	}
	if !strings.Contains(string(out), alive) {
		t.Errorf("namespace %s of a running process was deleted", alive)
	}
	if _, err := os.Stat(filepath.Join(topo.OwnerDir, orphan)); !os.IsNotExist(err) {
		t.Errorf("orphan's record still there: %v", err)
	}
}
