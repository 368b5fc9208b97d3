package ctl

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// LinuxCPReport is "show linux-cp": the pairs of vecnet interfaces and
// their TAPs in the host kernel, and the netlink mirror's counters.
type LinuxCPReport struct {
	Pairs  []LinuxCPPair `json:"pairs"`
	Mirror LinuxCPMirror `json:"mirror"`
}

// LinuxCPPair is one vecnet interface and its host interface (TAP).
type LinuxCPPair struct {
	Interface     string `json:"interface"`                 // the vecnet interface (phy)
	HostIf        string `json:"host_if"`                   // the TAP's name
	Netns         string `json:"netns"`                     // the TAP's network namespace ("" : vecnet's own)
	HostIfIndex   int    `json:"host_if_index"`             // the TAP's kernel ifindex
	PuntRateBits  uint64 `json:"punt_rate_bits_per_second"` // the punt policer's CIR
	PuntBurst     uint64 `json:"punt_burst_bytes"`          // its CBS (and EBS)
	Punted        uint64 `json:"punted"`                    // frames written to the TAP (punted packets and ARP copies)
	PuntedBytes   uint64 `json:"punted_bytes"`
	Injected      uint64 `json:"injected"` // frames the kernel sent on the TAP, sent out of the interface
	InjectedBytes uint64 `json:"injected_bytes"`
}

// LinuxCPMirror counts what the netlink mirror did to vecnet's FIB and
// neighbour table.
type LinuxCPMirror struct {
	RoutesInstalled uint64 `json:"routes_installed"`
	RoutesAdded     uint64 `json:"routes_added"`
	RoutesDeleted   uint64 `json:"routes_deleted"`
	RoutesSkipped   uint64 `json:"routes_skipped"`
	RouteErrors     uint64 `json:"route_errors"`
	Batches         uint64 `json:"batches"`
	Neighbors       uint64 `json:"neighbors"`
}

// WriteLinuxCP writes "show linux-cp".
func WriteLinuxCP(w io.Writer, r LinuxCPReport) error {
	if len(r.Pairs) == 0 {
		_, err := fmt.Fprintln(w, "no linux-cp pairs")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Interface\tHost if\tNetns\tIfindex\tPunt bit/s\tPunt burst\tPunted\tPunted bytes\tInjected\tInjected bytes")
	for _, p := range r.Pairs {
		ns := p.Netns
		if ns == "" {
			ns = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", p.Interface, p.HostIf, ns, p.HostIfIndex,
			p.PuntRateBits, p.PuntBurst, p.Punted, p.PuntedBytes, p.Injected, p.InjectedBytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	m := r.Mirror
	_, err := fmt.Fprintf(w, "netlink mirror: routes installed %d added %d deleted %d skipped %d errors %d, batches %d, neighbors %d\n",
		m.RoutesInstalled, m.RoutesAdded, m.RoutesDeleted, m.RoutesSkipped, m.RouteErrors, m.Batches, m.Neighbors)
	return err
}
