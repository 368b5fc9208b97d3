package topo_test

import (
	"os/exec"
	"strings"
	"testing"

	"vecnet/internal/testutil"
	"vecnet/internal/topo"
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
