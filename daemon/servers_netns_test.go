package daemon_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// startTCPServer starts cmd, a server in namespace ns that listens on TCP
// port, has it killed when the test ends, and waits up to wait for the
// port to listen.
func startTCPServer(t *testing.T, ns topo.NS, cmd *exec.Cmd, port int, wait time.Duration) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testutil.Eventually(t, wait, fmt.Sprintf("%s listening on TCP %d in %s", cmd.Args[0], port, ns.Name), func() bool {
		out, _ := ns.Command("ss", "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
		return strings.TrimSpace(string(out)) != ""
	})
}
