package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vecnet/vecnet/control/cli"
	"github.com/vecnet/vecnet/internal/topo"
)

// dnsServer is one server configuration of "vecnet bench dns" while it
// runs: a process pinned to the server CPU (taskset), stopped with SIGINT.
type dnsServer struct {
	name    string
	cmd     *exec.Cmd
	stderr  *lockedBuffer
	undo    func() error  // restores the server namespace; may be nil
	exited  chan struct{} // closed when the process has exited; then waitErr is set
	waitErr error
	cli     string // vecnet's CLI socket (vecnet configurations only)
}

// busy reads the vecnet worker's time spent in passes that moved packets
// ("busy" in show runtime), summed over workers; false when the server is
// not vecnet or does not answer. A busy-polling worker leaves its CPU no
// idle time, so this, not /proc/stat's idle, says how loaded it is.
func (s *dnsServer) busy() (time.Duration, bool) {
	if s.cli == "" {
		return 0, false
	}
	out, err := cli.Call(s.cli, "show runtime")
	if err != nil {
		return 0, false
	}
	var total float64
	found := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "Thread ") {
			continue
		}
		if i := strings.Index(line, "busy "); i >= 0 {
			if v, err := strconv.ParseFloat(strings.TrimSuffix(strings.Fields(line[i+5:])[0], "s"), 64); err == nil {
				total += v
				found = true
			}
		}
	}
	return time.Duration(total * float64(time.Second)), found
}

// lockedBuffer collects a process's output for concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dnsServerAddr is the address every configuration answers on: the router
// end toward host A.
const dnsServerAddr = topo.RouterAAddr

// kernelOwnsAddr gives the kernel of the server namespace the address and
// vecnet's MAC on the veth end (kernel sockets, knot); vecnetOwnsAddr takes
// both away again.
func kernelOwnsAddr(rig *topo.Rig) error {
	for _, c := range [][]string{
		{"ip", "link", "set", topo.RouterA, "address", topo.RouterAMAC},
		{"ip", "addr", "replace", dnsServerAddr + "/24", "dev", topo.RouterA},
	} {
		if _, err := rig.R.Run(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func vecnetOwnsAddr(rig *topo.Rig) error {
	for _, c := range [][]string{
		{"ip", "addr", "flush", "dev", topo.RouterA},
		{"ip", "link", "set", topo.RouterA, "address", topo.RouterADevMAC},
	} {
		if _, err := rig.R.Run(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// vecnetYAML is vecnet's config for the vecnet configurations: one AF_XDP
// interface whose XDP program redirects only the server address, and host
// A as a static neighbour.
func vecnetYAML(rig *topo.Rig, socket string) string {
	return fmt.Sprintf(`workers: 1
socket: %s
interfaces:
  - name: %s
    driver: afxdp
    device: %s
    netns: %s
    mac: %s
    addresses: [%s/24]
    queues: 1
    match: dst %s
neighbors:
  - interface: %s
    ip: %s
    mac: %s
`, socket, topo.RouterA, topo.RouterA, rig.R.Name, topo.RouterAMAC, dnsServerAddr, dnsServerAddr,
		topo.RouterA, topo.HostAAddr, topo.HostAMAC)
}

// knotConf is knotd's config: one UDP worker, the zone, and for XDP the
// veth end as its XDP interface.
func knotConf(dir string, xdp bool) string {
	s := fmt.Sprintf(`server:
    rundir: %[1]s
    listen: %[2]s@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
`, dir, dnsServerAddr)
	if xdp {
		s += fmt.Sprintf("xdp:\n    listen: %s@53\n", topo.RouterA)
	}
	return s + fmt.Sprintf(`database:
    storage: %[1]s
log:
  - target: stderr
    any: warning
zone:
  - domain: %[2]s
    storage: %[1]s
    file: zone
    journal-content: none
    zonefile-sync: -1
`, dir, dnsBenchOrigin)
}

// startDNSServer brings up configuration name ("kernel", "ingraph", "sock",
// "knot", "knot-xdp") in the rig's router namespace and waits until it
// answers.
func startDNSServer(rig *topo.Rig, name, dir, server string, cpu int) (*dnsServer, error) {
	zone := filepath.Join(dir, "zone")
	cpus := strconv.Itoa(cpu)
	s := &dnsServer{name: name, stderr: new(lockedBuffer), exited: make(chan struct{})}
	var err error
	switch name {
	case "kernel":
		err = kernelOwnsAddr(rig)
		s.cmd = rig.R.Command("taskset", "-c", cpus, server, "-zone", zone, "-origin", dnsBenchOrigin,
			"-kernel", "-listen", dnsServerAddr+":53")
	case "ingraph", "sock":
		err = vecnetOwnsAddr(rig)
		yaml := filepath.Join(dir, "vecnet.yaml")
		if err == nil {
			s.cli = filepath.Join(dir, "cli.sock")
			err = os.WriteFile(yaml, []byte(vecnetYAML(rig, s.cli)), 0o644)
		}
		s.cmd = exec.Command("taskset", "-c", cpus, server, "-zone", zone, "-origin", dnsBenchOrigin,
			"-vecnet", "-config", yaml, "-mode", name, "-listen", dnsServerAddr+":53", "-cpu", cpus)
	case "knot", "knot-xdp":
		err = kernelOwnsAddr(rig)
		conf := filepath.Join(dir, "knot.conf")
		if err == nil {
			err = os.WriteFile(conf, []byte(knotConf(dir, name == "knot-xdp")), 0o644)
		}
		s.cmd = rig.R.Command("taskset", "-c", cpus, "knotd", "-c", conf)
		if name == "knot-xdp" {
			// knotd leaves its XDP program attached when it exits.
			s.undo = func() error {
				rig.R.Run("ip", "link", "set", "dev", topo.RouterA, "xdpgeneric", "off")
				_, err := rig.R.Run("ip", "link", "set", "dev", topo.RouterA, "xdp", "off")
				return err
			}
		}
	default:
		return nil, fmt.Errorf("unknown configuration %q (kernel, ingraph, sock, knot, knot-xdp)", name)
	}
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		if s.undo != nil {
			s.undo()
		}
		return nil, err
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := rig.A.Command("dig", "@"+dnsServerAddr, "+short", "+tries=1", "+time=1", "www."+dnsBenchOrigin, "A").Output()
		if strings.TrimSpace(string(out)) == "192.0.2.80" {
			// knotd sets its worker threads' affinity itself; pin every
			// thread of the server back to its CPU, as for the others.
			if out, err := exec.Command("taskset", "-a", "-cp", cpus, strconv.Itoa(s.cmd.Process.Pid)).CombinedOutput(); err != nil {
				s.stop()
				return nil, fmt.Errorf("%s: taskset: %v: %s", name, err, out)
			}
			return s, nil
		}
		select {
		case <-s.exited:
			deadline = time.Time{}
		default:
		}
		if time.Now().After(deadline) {
			err := s.stop()
			return nil, fmt.Errorf("%s: no answer within 15 s or exited (stop: %v): %s", name, err, lastLines(s.stderr.String(), 5))
		}
	}
}

// stop interrupts the server, waits for it and undoes its namespace
// changes. A non-zero exit (for dnsserver: a buffer leak) is an error.
func (s *dnsServer) stop() error {
	s.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case <-s.exited:
		err = s.waitErr
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		err = errors.Join(errors.New("killed after 10 s"), s.waitErr)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w: %s", s.name, err, lastLines(s.stderr.String(), 5))
	}
	if s.undo != nil {
		err = errors.Join(err, s.undo())
	}
	return err
}

// queries is the dnsserver's "queries" counter printed at exit (0 for
// knot or when absent).
func (s *dnsServer) queries() uint64 {
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "queries" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}
