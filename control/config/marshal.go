package config

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// The file* types mirror the YAML layout for Marshal; Parse does not use
// them (it walks yaml.Node to report positions and unknown keys).
type (
	fileConfig struct {
		Workers    int            `yaml:"workers"`
		WorkerSpin string         `yaml:"worker_spin,omitempty"`
		WorkerRT   int            `yaml:"worker_rt_priority,omitempty"`
		WorkerThr  string         `yaml:"worker_thread,omitempty"`
		Socket     string         `yaml:"socket,omitempty"`
		Interfaces []fileIface    `yaml:"interfaces"`
		Routes     []fileRoute    `yaml:"routes,omitempty"`
		Neighbors  []fileNeighbor `yaml:"neighbors,omitempty"`
		ARP        *fileARP       `yaml:"arp,omitempty"`
		Limits     *fileLimits    `yaml:"limits,omitempty"`
		Policers   []filePolicer  `yaml:"policers,omitempty"`
		ACLs       []fileACL      `yaml:"acls,omitempty"`
		Sessions   *fileSessions  `yaml:"sessions,omitempty"`
		NAT44      *fileNAT44     `yaml:"nat44,omitempty"`
		HTTP       *fileHTTP      `yaml:"http,omitempty"`
		LinuxCP    []fileLinuxCP  `yaml:"linux_cp,omitempty"`
		Bridges    []fileBridge   `yaml:"bridges,omitempty"`
	}
	fileIface struct {
		Name      string   `yaml:"name"`
		Driver    string   `yaml:"driver,omitempty"`
		MAC       string   `yaml:"mac,omitempty"`
		MTU       int      `yaml:"mtu,omitempty"`
		Addresses []string `yaml:"addresses,omitempty"`
		PcapIn    string   `yaml:"pcap_in,omitempty"`
		PcapOut   string   `yaml:"pcap_out,omitempty"`
		Device    string   `yaml:"device,omitempty"`
		Netns     string   `yaml:"netns,omitempty"`
		Queues    int      `yaml:"queues,omitempty"`
		XDPMode   string   `yaml:"xdp_mode,omitempty"`
		BindMode  string   `yaml:"bind_mode,omitempty"`
		RingSize  int      `yaml:"ring_size,omitempty"`
		RxRing    string   `yaml:"rx_ring,omitempty"`
		BusyPoll  int      `yaml:"busy_poll,omitempty"`
		BPBudget  int      `yaml:"busy_poll_budget,omitempty"`
		PreferBP  bool     `yaml:"prefer_busy_poll,omitempty"`
		Match     string   `yaml:"match,omitempty"`
		Socket    string   `yaml:"socket,omitempty"`
		Role      string   `yaml:"role,omitempty"`
		ID        uint32   `yaml:"id,omitempty"`
		Secret    string   `yaml:"secret,omitempty"`
		Parent    string   `yaml:"parent,omitempty"`
		VLAN      int      `yaml:"vlan,omitempty"`
		OuterVLAN int      `yaml:"outer_vlan,omitempty"`
		OuterTPID int      `yaml:"outer_tpid,omitempty"`
		RA        *fileRA  `yaml:"ra,omitempty"`
	}
	fileRA struct {
		Interval string   `yaml:"interval"`
		Lifetime string   `yaml:"lifetime"`
		Prefixes []string `yaml:"prefixes,flow,omitempty"`
		Managed  bool     `yaml:"managed"`
		Other    bool     `yaml:"other"`
		MTU      bool     `yaml:"mtu"`
	}
	fileRoute struct {
		Prefix    string   `yaml:"prefix"`
		Via       []string `yaml:"via,flow"`
		Interface string   `yaml:"interface,omitempty"`
	}
	fileNeighbor struct {
		Interface string `yaml:"interface"`
		IP        string `yaml:"ip"`
		MAC       string `yaml:"mac"`
	}
)

// Marshal writes c as YAML that Parse reads back into an equal Config.
// Unset values (zero MAC, empty strings) are left out.
func Marshal(c *Config) ([]byte, error) {
	f := fileConfig{Workers: c.Workers, WorkerRT: c.WorkerRTPriority, Socket: c.Socket, Limits: c.Limits.file(), HTTP: c.HTTP.file()}
	switch {
	case c.WorkerSpin < 0:
		f.WorkerSpin = "off"
	case c.WorkerSpin > 0:
		f.WorkerSpin = c.WorkerSpin.String()
	}
	if c.WorkerShared {
		f.WorkerThr = "shared"
	}
	for _, ic := range c.Interfaces {
		fi := fileIface{
			Name: ic.Name, Driver: ic.Driver, MTU: ic.MTU,
			PcapIn: ic.PcapIn, PcapOut: ic.PcapOut, Device: ic.Device, Netns: ic.Netns,
			Queues: ic.Queues, XDPMode: ic.XDPMode, BindMode: ic.BindMode, RingSize: ic.RingSize, RxRing: ic.RxRing,
			BusyPoll: ic.BusyPollUsecs, BPBudget: ic.BusyPollBudget, PreferBP: ic.PreferBusyPoll,
			Match:  ic.Match.String(),
			Socket: ic.MemifSocket, Role: ic.MemifRole, ID: ic.MemifID, Secret: ic.MemifSecret,
		}
		if !ic.MAC.IsZero() {
			fi.MAC = ic.MAC.String()
		}
		for _, p := range ic.Addresses {
			fi.Addresses = append(fi.Addresses, p.String())
		}
		if r := ic.RA; r != nil {
			fi.RA = &fileRA{Interval: r.Interval.String(), Lifetime: r.Lifetime.String(), Managed: r.Managed, Other: r.Other, MTU: r.MTU}
			for _, p := range r.Prefixes {
				fi.RA.Prefixes = append(fi.RA.Prefixes, p.String())
			}
		}
		f.Interfaces = append(f.Interfaces, fi)
	}
	for _, s := range c.SubInterfaces {
		fi := fileIface{Name: s.Name, Parent: s.Parent, VLAN: s.VLAN, OuterVLAN: s.OuterVLAN, MTU: s.MTU}
		if s.OuterVLAN != 0 {
			fi.OuterTPID = s.OuterTPID
		}
		for _, p := range s.Addresses {
			fi.Addresses = append(fi.Addresses, p.String())
		}
		f.Interfaces = append(f.Interfaces, fi)
	}
	for _, r := range c.Routes {
		f.Routes = append(f.Routes, fileRoute{Prefix: r.Prefix.String(), Via: addrStrings(r.Via), Interface: r.Interface})
	}
	for _, n := range c.Neighbors {
		f.Neighbors = append(f.Neighbors, fileNeighbor{Interface: n.Interface, IP: n.IP.String(), MAC: n.MAC.String()})
	}
	f.ARP = marshalARP(c.ARP)
	f.Policers = marshalPolicers(c.Policers)
	f.LinuxCP = marshalLinuxCP(c.LinuxCP)
	f.ACLs = marshalACLs(c.ACLs)
	f.Sessions = marshalSessions(c.Sessions)
	f.NAT44 = marshalNAT44(c.NAT44)
	f.Bridges = marshalBridges(c.Bridges)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
