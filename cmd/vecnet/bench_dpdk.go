package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/vecnet/vecnet/internal/topo"
)

// dpdkRouter is DPDK's testpmd in the rig's router namespace, on the two
// router veths through its AF_XDP PMD (net_af_xdp), in "mac" forwarding
// mode: port 0 (ra) to port 1 (rb) and back, each frame's destination MAC
// set to the next host's and its source to the port's. It does not route
// (no TTL, no lookup): the "dpdk" row of bench forward.
type dpdkRouter struct {
	rig  *topo.Rig
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *lockedBuffer
	done chan struct{}
}

// startDPDKRouter starts testpmd with its forwarding lcore on the router's
// CPU and waits until it forwards.
func startDPDKRouter(rig *topo.Rig, opt ForwardOptions) (routerRun, error) {
	main := 0
	if opt.RouterCPU == 0 {
		main = 1
	}
	// stdbuf: testpmd's stdout is a pipe, which stdio would buffer.
	cmd := rig.R.Command("stdbuf", "-oL", "dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
		"-l", fmt.Sprintf("%d,%d", main, opt.RouterCPU), "--main-lcore", fmt.Sprint(main),
		"--vdev", "net_af_xdp0,iface="+topo.RouterA, "--vdev", "net_af_xdp1,iface="+topo.RouterB,
		"--", "--total-num-mbufs", "16384", "--forward-mode=mac", "--port-topology=paired",
		"--eth-peer=0,"+topo.HostAMAC, "--eth-peer=1,"+topo.HostBMAC)
	r := &dpdkRouter{rig: rig, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	var err error
	if r.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dpdk-testpmd: %w", err)
	}
	go func() { _ = cmd.Wait(); close(r.done) }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := r.out.String()
		if strings.Contains(out, "No probed ethernet devices") || strings.Contains(out, "Fail") {
			r.stop()
			return nil, fmt.Errorf("testpmd did not open its AF_XDP ports:\n%s", out)
		}
		if strings.Contains(out, "Press enter to exit") {
			return r, nil
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("testpmd exited:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("testpmd not forwarding after 60s:\n%s", out)
		}
	}
}

func (r *dpdkRouter) snapshot() routerSnap { return routerSnap{} }

// stop ends testpmd (Enter, as its prompt asks; SIGKILL if it hangs) and
// makes sure no XDP program stays on the router's veths.
func (r *dpdkRouter) stop() error {
	_, _ = r.in.Write([]byte("\n"))
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	for _, dev := range []string{topo.RouterA, topo.RouterB} {
		_, _ = r.rig.R.Run("ip", "link", "set", "dev", dev, "xdp", "off")
	}
	return nil
}
