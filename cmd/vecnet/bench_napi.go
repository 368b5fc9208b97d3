package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/topo"
)

// This file moves the receive path of the router's (the DNS server's)
// ingress veth onto the router's CPU. On veth the receiving end's work
// otherwise runs in the sender's softirq, on the generator's CPU: the kernel
// baseline would forward (answer) on the client's core and vecnet's generic
// XDP and AF_XDP copy would be paid there too, so neither would be "pinned
// to one core". A veth end has a NAPI instance when GRO is on or a native
// XDP program is attached; made threaded, that instance polls in a
// "napi/DEV-ID" kernel thread, which the benchmark pins to the router CPU.

// napiPin is one veth end whose receive NAPI runs in kernel threads pinned
// to CPU. Not safe for concurrent use; the benchmark drives it from its one
// goroutine.
type napiPin struct {
	ns   topo.NS
	dev  string
	cpu  int
	nice int // the threads' nice value: how CFS shares CPU with the router process
}

// enable turns GRO on for the end, which gives a veth a NAPI instance
// whatever XDP program is attached, and makes that NAPI threaded. GRO
// coalesces nothing in the benchmarks: their traffic is UDP without a
// socket asking for UDP GRO, and forwarding of UDP GRO (NETIF_F_GRO_UDP_FWD)
// stays off. The setting survives the NAPI instance being rebuilt (an XDP
// program attached or removed); the kernel threads do not, so call pin
// after every change.
func (p napiPin) enable() error {
	if _, err := p.ns.Run("ethtool", "-K", p.dev, "gro", "on"); err != nil {
		return err
	}
	if _, err := p.ns.Run("sh", "-c", "echo 1 > /sys/class/net/"+p.dev+"/threaded"); err != nil {
		return fmt.Errorf("threaded NAPI on %s: %w", p.dev, err)
	}
	return nil
}

// pin sets the CPU affinity of every "napi/DEV-*" kernel thread to the
// end's CPU, and their nice value, and returns their thread ids. The names carry the device name
// only, so another namespace's device of the same name would be pinned too:
// the benchmark's rigs are the only ones with these names while it runs.
func (p napiPin) pin() ([]int, error) {
	tids, err := napiThreads(p.dev)
	if err != nil {
		return nil, err
	}
	if len(tids) == 0 {
		return nil, fmt.Errorf("no napi/%s-* kernel thread (is NAPI threaded?)", p.dev)
	}
	var set unix.CPUSet
	set.Set(p.cpu)
	for _, tid := range tids {
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return nil, fmt.Errorf("pin napi thread %d to CPU %d: %w", tid, p.cpu, err)
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, p.nice); err != nil {
			return nil, fmt.Errorf("nice napi thread %d: %w", tid, err)
		}
	}
	return tids, nil
}

// napiThreads lists the kernel threads named "napi/DEV-<napi id>".
func napiThreads(dev string) ([]int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		return nil, err
	}
	prefix := "napi/" + dev + "-"
	var tids []int
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if name := strings.TrimSpace(string(b)); strings.HasPrefix(name, prefix) {
			if tid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				tids = append(tids, tid)
			}
		}
	}
	return tids, nil
}
