package topo

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func requireRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("needs root, and CI is set")
	}
	t.Skip("needs root")
}

func TestRigKernelForwardingAndClose(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ping missing, and CI is set (scripts/setup.sh installs it)")
		}
		t.Skip("ping missing")
	}
	rig, err := NewRig(RigOptions{Prefix: "tt"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.Close() })
	if err := rig.KernelForwarding(); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.A.Run("ping", "-c", "1", "-W", "2", HostBAddr); err != nil {
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
