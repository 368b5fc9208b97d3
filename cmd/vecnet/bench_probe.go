package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vecnet/vecnet/internal/topo"
)

// This file reads the counters the forwarding benchmark compares: device
// statistics through netlink in each namespace, the machine's busy time
// from /proc/stat, and one thread's user and system time.

// nsLinks reads device counters in one namespace through a netlink handle
// bound to it (no thread switching).
type nsLinks struct {
	h *netlink.Handle
}

func openNSLinks(ns topo.NS) (*nsLinks, error) {
	nh, err := netns.GetFromName(ns.Name)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", ns.Name, err)
	}
	return &nsLinks{h: h}, nil
}

// stats returns dev's counters (zero on error: a missing figure shows as 0).
func (n *nsLinks) stats(dev string) netlink.LinkStatistics64 {
	l, err := n.h.LinkByName(dev)
	if err != nil || l.Attrs().Statistics == nil {
		return netlink.LinkStatistics64{}
	}
	return netlink.LinkStatistics64(*l.Attrs().Statistics)
}

func (n *nsLinks) close() { n.h.Close() }

// ifindex returns dev's index in the namespace.
func (n *nsLinks) ifindex(dev string) (int, error) {
	l, err := n.h.LinkByName(dev)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// cpuBusyJiffies returns busy time (every /proc/stat column but idle and
// iowait) in clock ticks: [0] the whole machine, [1+i] CPU i.
func cpuBusyJiffies() ([]uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		var busy uint64
		for i, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, err
			}
			if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
				continue
			}
			busy += v
		}
		out = append(out, busy)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/stat: no cpu lines")
	}
	return out, nil
}

// jiffyNs is the length of a /proc clock tick (USER_HZ is 100 on Linux).
const jiffyNs = 1e9 / 100

// threadTimes returns a thread's user and system time in clock ticks.
func threadTimes(tid int) (utime, stime uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("task %d stat: no ')'", tid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("task %d stat: %d fields", tid, len(f))
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, err
	}
	stime, err = strconv.ParseUint(f[12], 10, 64)
	return utime, stime, err
}
