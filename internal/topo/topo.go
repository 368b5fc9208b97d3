// Package topo builds throw-away network topologies — namespaces joined by
// veth pairs — for the demo, the benchmarks and the integration tests, with
// iproute2 as the kernel's own tool. Everything a Topo makes is removed by
// Close (deleting a namespace deletes the veth ends inside it), and Close is
// safe to call from a signal handler's goroutine and more than once.
package topo

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"github.com/vishvananda/netns"
)

// NS is a network namespace made by a Topo.
type NS struct {
	Name string
}

// Command returns cmd prepared to run inside the namespace.
func (ns NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command inside the namespace and returns its combined output;
// the error includes that output.
func (ns NS) Run(name string, args ...string) (string, error) {
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", ns.Name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Do runs f on an OS thread switched into the namespace: sockets, links
// and XDP programs f creates belong to it and stay there after f returns.
// The thread is discarded afterwards rather than switched back.
func (ns NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		h, err := netns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("namespace %s: %w", ns.Name, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Topo owns the namespaces it made.
type Topo struct {
	prefix string
	mu     sync.Mutex
	made   []string
}

// New returns an empty topology whose namespace names start with prefix
// (and the process id, so that concurrent runs do not collide).
func New(prefix string) *Topo {
	return &Topo{prefix: fmt.Sprintf("%s%d-", prefix, os.Getpid())}
}

// AddNS creates namespace prefix+name with loopback up.
func (t *Topo) AddNS(name string) (NS, error) {
	ns := NS{Name: t.prefix + name}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		return ns, fmt.Errorf("ip netns add %s: %w: %s", ns.Name, err, strings.TrimSpace(string(out)))
	}
	Claim(ns.Name)
	t.mu.Lock()
	t.made = append(t.made, ns.Name)
	t.mu.Unlock()
	_, err := ns.Run("ip", "link", "set", "lo", "up")
	return ns, err
}

// Veth joins a in ns1 to b in ns2 with a veth pair, both up. mac1/mac2 set
// the ends' MAC addresses when not empty; queues > 1 makes a multi-queue
// pair (numrxqueues/numtxqueues).
func (t *Topo) Veth(ns1 NS, a, mac1 string, ns2 NS, b, mac2 string, queues int) error {
	tmpA, tmpB := "vt"+t.shortID()+"a", "vt"+t.shortID()+"b"
	args := []string{"link", "add", tmpA}
	q := []string{}
	if queues > 1 {
		q = []string{"numrxqueues", fmt.Sprint(queues), "numtxqueues", fmt.Sprint(queues)}
	}
	args = append(args, q...)
	args = append(args, "type", "veth", "peer", "name", tmpB)
	args = append(args, q...)
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	for _, end := range []struct {
		tmp, name, mac string
		ns             NS
	}{{tmpA, a, mac1, ns1}, {tmpB, b, mac2, ns2}} {
		if out, err := exec.Command("ip", "link", "set", end.tmp, "netns", end.ns.Name).CombinedOutput(); err != nil {
			exec.Command("ip", "link", "del", tmpA).Run()
			return fmt.Errorf("move %s to %s: %w: %s", end.tmp, end.ns.Name, err, out)
		}
		cmds := [][]string{{"ip", "link", "set", end.tmp, "name", end.name}}
		if end.mac != "" {
			cmds = append(cmds, []string{"ip", "link", "set", end.name, "address", end.mac})
		}
		cmds = append(cmds, []string{"ip", "link", "set", end.name, "up"})
		for _, c := range cmds {
			if _, err := end.ns.Run(c[0], c[1:]...); err != nil {
				return err
			}
		}
	}
	return nil
}

var seq struct {
	sync.Mutex
	n int
}

func (t *Topo) shortID() string {
	seq.Lock()
	defer seq.Unlock()
	seq.n++
	return fmt.Sprintf("%x%x", os.Getpid()&0xffff, seq.n)
}

// Close deletes every namespace the topology made, with everything in it.
// It reports the first failure but tries them all.
func (t *Topo) Close() error {
	t.mu.Lock()
	made := t.made
	t.made = nil
	t.mu.Unlock()
	var first error
	for k := len(made) - 1; k >= 0; k-- {
		out, err := exec.Command("ip", "netns", "del", made[k]).CombinedOutput()
		if err != nil && first == nil {
			first = fmt.Errorf("ip netns del %s: %w: %s", made[k], err, out)
		}
		if err == nil {
			Release(made[k])
		}
	}
	return first
}
