package config

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vecnet/vecnet/pkt"
)

// ifaceKeys are the keys an interface mapping may have; driverKeys says
// which drivers accept the driver-specific ones.
var (
	ifaceKeys  = []string{"name", "driver", "mac", "mtu", "addresses", "pcap_in", "pcap_out", "device", "netns", "queues", "xdp_mode", "bind_mode", "ring_size", "rx_ring", "match", "busy_poll", "busy_poll_budget", "prefer_busy_poll", "socket", "role", "id", "secret", "ra"}
	driverKeys = map[string][]string{
		"pcap_in":          {"pcap"},
		"pcap_out":         {"pcap"},
		"device":           {"afxdp", "afpacket", "tap"},
		"netns":            {"afxdp", "afpacket", "tap"},
		"queues":           {"afxdp", "afpacket", "tap", "memif"},
		"xdp_mode":         {"afxdp"},
		"bind_mode":        {"afxdp", "memif"},
		"match":            {"afxdp"},
		"busy_poll":        {"afxdp"},
		"busy_poll_budget": {"afxdp"},
		"prefer_busy_poll": {"afxdp"},
		"ring_size":        {"afxdp", "afpacket", "memif"},
		"rx_ring":          {"afpacket"},
		"socket":           {"memif"},
		"role":             {"memif"},
		"id":               {"memif"},
		"secret":           {"memif"},
	}
)

// seenAt remembers where a name or address was first given.
type seenAt map[string]int

func (s seenAt) first(key string, line int) (int, bool) {
	if l, ok := s[key]; ok {
		return l, true
	}
	s[key] = line
	return 0, false
}

func (w *walker) config(root *yaml.Node) *Config {
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		w.errorf(root, "empty config")
		return nil
	}
	top := w.fields(root, "config", "workers", "worker_spin", "worker_rt_priority", "worker_thread", "socket", "interfaces", "routes", "neighbors", "arp", "limits", "policers", "acls", "sessions", "nat44", "http", "linux_cp", "bridges")
	if top == nil {
		return nil
	}
	c := &Config{Workers: 1, Socket: DefaultSocket}
	if n, ok := top["workers"]; ok {
		c.Workers, _ = w.integer(n, "workers", 1, MaxWorkers)
	}
	if n, ok := top["worker_spin"]; ok {
		if n.Kind == yaml.ScalarNode && (n.Value == "off" || n.Value == "0") {
			c.WorkerSpin = -1
		} else if d, ok := w.duration(n, "worker_spin", 0, MaxWorkerSpin); ok {
			c.WorkerSpin = d
			if d == 0 {
				c.WorkerSpin = -1
			}
		}
	}
	if n, ok := top["worker_rt_priority"]; ok {
		c.WorkerRTPriority, _ = w.integer(n, "worker_rt_priority", 0, 99)
	}
	if n, ok := top["worker_thread"]; ok {
		if s, ok := w.str(n, "worker_thread"); ok {
			switch s {
			case "dedicated":
			case "shared":
				c.WorkerShared = true
			default:
				w.errorf(n, "worker_thread: %q: want dedicated or shared", s)
			}
		}
	}
	if n, ok := top["socket"]; ok {
		if s, ok := w.str(n, "socket"); ok {
			switch {
			case s == "":
				w.errorf(n, "socket: empty path")
			case len(s) > maxSocketPath:
				w.errorf(n, "socket: path is %d bytes, a unix socket path has at most %d", len(s), maxSocketPath)
			}
			c.Socket = s
		}
	}
	if n, ok := top["limits"]; ok {
		c.Limits = w.limits(n)
	}
	if n, ok := top["http"]; ok {
		c.HTTP = w.http(n)
	}
	ifaces := map[string]bool{}
	n, ok := top["interfaces"]
	if !ok {
		w.errorf(root, "config: missing \"interfaces\" (at least one interface)")
	} else {
		items := w.seq(n, "interfaces", false)
		if n.Kind == yaml.SequenceNode && len(items) == 0 {
			w.errorf(n, "interfaces: at least one interface is needed")
		}
		names, devices, addrs, subnets := seenAt{}, seenAt{}, seenAt{}, seenAt{}
		var subNodes []*yaml.Node
		for _, it := range items {
			if hasKey(it, "parent") {
				sc, ok := w.subIface(it)
				if !ok {
					continue
				}
				if l, dup := names.first(sc.Name, it.Line); dup {
					w.errorf(it, "interface %q: name already used at line %d", sc.Name, l)
					continue
				}
				for _, p := range sc.Addresses {
					if l, dup := addrs.first(p.Addr().String(), it.Line); dup {
						w.errorf(it, "interface %q: address %v already used at line %d", sc.Name, p.Addr(), l)
					} else if l, dup := subnets.first(p.Masked().String(), it.Line); dup {
						w.errorf(it, "interface %q: subnet %v is already on the interface at line %d", sc.Name, p.Masked(), l)
					}
				}
				subNodes = append(subNodes, it)
				c.SubInterfaces = append(c.SubInterfaces, sc)
				ifaces[sc.Name] = true
				continue
			}
			ic, ok := w.iface(it, c.Workers)
			if !ok {
				continue
			}
			if l, dup := names.first(ic.Name, it.Line); dup {
				w.errorf(it, "interface %q: name already used at line %d", ic.Name, l)
				continue
			}
			if ic.Device != "" {
				if l, dup := devices.first(ic.Netns+"/"+ic.Device, it.Line); dup {
					w.errorf(it, "interface %q: device %q already used at line %d", ic.Name, ic.Device, l)
				}
			}
			for _, p := range ic.Addresses {
				if l, dup := addrs.first(p.Addr().String(), it.Line); dup {
					w.errorf(it, "interface %q: address %v already used at line %d", ic.Name, p.Addr(), l)
				} else if l, dup := subnets.first(p.Masked().String(), it.Line); dup {
					w.errorf(it, "interface %q: subnet %v is already on the interface at line %d", ic.Name, p.Masked(), l)
				}
			}
			c.Interfaces = append(c.Interfaces, ic)
			ifaces[ic.Name] = true
		}
		for k, s := range c.SubInterfaces {
			w.checkSub(subNodes[k], s, c.Interfaces, c.SubInterfaces[:k])
		}
	}
	// Routes and neighbours may name the bridges' BVIs too.
	l3 := maps.Clone(ifaces)
	if n, ok := top["bridges"]; ok {
		c.Bridges = w.bridges(n, c, l3)
	}
	if n, ok := top["routes"]; ok {
		prefixes := seenAt{}
		for _, it := range w.seq(n, "routes", false) {
			r, ok := w.route(it, l3)
			if !ok {
				continue
			}
			if l, dup := prefixes.first(r.Prefix.String(), it.Line); dup {
				w.errorf(it, "route %v: already given at line %d", r.Prefix, l)
				continue
			}
			c.Routes = append(c.Routes, r)
		}
	}
	if n, ok := top["neighbors"]; ok {
		seen := seenAt{}
		for _, it := range w.seq(n, "neighbors", false) {
			nb, ok := w.neighbor(it, l3)
			if !ok {
				continue
			}
			if l, dup := seen.first(nb.Interface+" "+nb.IP.String(), it.Line); dup {
				w.errorf(it, "neighbor %v on %s: already given at line %d", nb.IP, nb.Interface, l)
				continue
			}
			c.Neighbors = append(c.Neighbors, nb)
		}
	}
	if n, ok := top["arp"]; ok {
		c.ARP = w.arp(n)
	}
	if n, ok := top["policers"]; ok {
		c.Policers = w.policers(n, ifaces)
	}
	if n, ok := top["acls"]; ok {
		policers := map[string]bool{}
		for _, p := range c.Policers {
			policers[p.Name] = true
		}
		c.ACLs = w.acls(n, ifaces, policers)
	}
	if n, ok := top["sessions"]; ok {
		c.Sessions = w.sessions(n)
	}
	if n, ok := top["nat44"]; ok {
		c.NAT44 = w.nat44(n, ifaces)
	}
	if n, ok := top["linux_cp"]; ok {
		c.LinuxCP = w.linuxCPs(n, ifaces)
	}
	return c
}

// iface decodes one interface and fills its defaults.
func (w *walker) iface(n *yaml.Node, workers int) (Interface, bool) {
	var ic Interface
	errs := len(w.errs)
	m := w.fields(n, "interface", ifaceKeys...)
	if m == nil {
		return ic, false
	}
	w.require(n, m, "interface", "name", "driver")
	what := "interface"
	if v, ok := m["name"]; ok {
		if s, ok := w.str(v, "interface name"); ok {
			if err := checkIfName(s); err != nil {
				w.errorf(v, "interface name: %v", err)
			}
			ic.Name = s
			what = fmt.Sprintf("interface %q", s)
		}
	}
	if v, ok := m["driver"]; ok {
		if s, ok := w.str(v, what+": driver"); ok {
			switch {
			case !contains(Drivers, s):
				w.errorf(v, "%s: unknown driver %q (want one of %s)", what, s, strings.Join(Drivers, ", "))
			case s == "pcap" && workers != 1:
				w.errorf(v, "%s: driver pcap runs on one worker, but workers is %d", what, workers)
			}
			ic.Driver = s
		}
	}
	if contains(Drivers, ic.Driver) {
		for _, k := range ifaceKeys {
			if v, ok := m[k]; ok && driverKeys[k] != nil && !contains(driverKeys[k], ic.Driver) {
				w.errorf(v, "%s: %s is for driver %s, not %s", what, k, strings.Join(driverKeys[k], "/"), ic.Driver)
			}
		}
	}
	if v, ok := m["mac"]; ok {
		ic.MAC, _ = w.unicastMAC(v, what+": mac")
	}
	if !IsKernel(ic.Driver) {
		ic.MTU = DefaultMTU // kernel drivers: 0, the device's MTU (read at start)
	}
	if v, ok := m["mtu"]; ok {
		if x, ok := w.integer(v, what+": mtu", MinMTU, 65535); ok && x > MaxMTU {
			w.errorf(v, "%s: mtu %d is larger than a packet buffer holds: at most %d (a %d-byte slot less %d bytes of headroom, an Ethernet header and a VLAN tag)",
				what, x, MaxMTU, pkt.SlotSize, pkt.Headroom)
		} else {
			ic.MTU = x
		}
	}
	if v, ok := m["addresses"]; ok {
		for _, a := range w.seq(v, what+": addresses", true) {
			if p, ok := w.ifaceAddr(a, what+": address"); ok {
				for _, q := range ic.Addresses {
					if q.Overlaps(p) {
						w.errorf(a, "%s: address %v overlaps %v", what, p, q)
					}
				}
				ic.Addresses = append(ic.Addresses, p)
			}
		}
	}
	if v, ok := m["ra"]; ok {
		ic.RA = w.ra(v, what)
	}
	if v, ok := m["pcap_in"]; ok {
		ic.PcapIn, _ = w.path(v, what+": pcap_in")
	}
	if v, ok := m["pcap_out"]; ok {
		ic.PcapOut, _ = w.path(v, what+": pcap_out")
	}
	if ic.Driver == "pcap" && m["pcap_in"] == nil && m["pcap_out"] == nil {
		w.errorf(n, "%s: driver pcap needs pcap_in and/or pcap_out", what)
	}
	if v, ok := m["device"]; ok {
		if s, ok := w.str(v, what+": device"); ok {
			if err := checkIfName(s); err != nil {
				w.errorf(v, "%s: device: %v", what, err)
			}
			ic.Device = s
		}
	}
	if v, ok := m["netns"]; ok {
		if s, ok := w.str(v, what+": netns"); ok {
			if s == "" || strings.ContainsAny(s, " \t\n") || (strings.Contains(s, "/") && !filepath.IsAbs(s)) {
				w.errorf(v, "%s: netns %q: want a name under /run/netns or an absolute path", what, s)
			}
			ic.Netns = s
		}
	}
	if v, ok := m["queues"]; ok {
		ic.Queues, _ = w.integer(v, what+": queues", 1, MaxQueues)
	}
	if v, ok := m["xdp_mode"]; ok {
		ic.XDPMode, _ = w.oneOf(v, what+": xdp_mode", "native", "generic")
	}
	if v, ok := m["rx_ring"]; ok {
		ic.RxRing, _ = w.oneOf(v, what+": rx_ring", "blocks", "frames")
	}
	if v, ok := m["bind_mode"]; ok {
		ic.BindMode, _ = w.oneOf(v, what+": bind_mode", "copy", "zerocopy")
	}
	if v, ok := m["ring_size"]; ok {
		if r, ok := w.integer(v, what+": ring_size", MinRingSize, MaxRingSize); ok {
			if r&(r-1) != 0 {
				w.errorf(v, "%s: ring_size %d is not a power of two", what, r)
			}
			ic.RingSize = r
		}
	}
	if v, ok := m["busy_poll"]; ok {
		ic.BusyPollUsecs, _ = w.integer(v, what+": busy_poll", 0, MaxBusyPollUsecs)
	}
	if v, ok := m["busy_poll_budget"]; ok {
		ic.BusyPollBudget, _ = w.integer(v, what+": busy_poll_budget", 1, 65535)
	}
	if v, ok := m["prefer_busy_poll"]; ok {
		b, _ := w.oneOf(v, what+": prefer_busy_poll", "true", "false")
		ic.PreferBusyPoll = b == "true"
	}
	if v, ok := m["match"]; ok {
		if s, ok := w.str(v, what+": match"); ok {
			mt, err := ParseMatch(s)
			if err != nil {
				w.errorf(v, "%s: %v", what, err)
			}
			ic.Match = mt
		}
	}
	if v, ok := m["socket"]; ok {
		if s, ok := w.str(v, what+": socket"); ok {
			switch {
			case s == "":
				w.errorf(v, "%s: socket: empty path", what)
			case len(s) > maxSocketPath:
				w.errorf(v, "%s: socket: path is %d bytes, a unix socket path has at most %d", what, len(s), maxSocketPath)
			}
			ic.MemifSocket = s
		}
	}
	if v, ok := m["role"]; ok {
		ic.MemifRole, _ = w.oneOf(v, what+": role", "server", "client")
	}
	if v, ok := m["id"]; ok {
		id, _ := w.integer(v, what+": id", 0, 1<<32-1)
		ic.MemifID = uint32(id)
	}
	if v, ok := m["secret"]; ok {
		if s, ok := w.str(v, what+": secret"); ok {
			if len(s) > 23 {
				w.errorf(v, "%s: secret is %d bytes, memif allows 23", what, len(s))
			}
			ic.MemifSecret = s
		}
	}
	if ic.Driver == "memif" {
		if ic.MemifSocket == "" {
			w.errorf(n, "%s: driver memif needs socket", what)
		}
		if ic.MemifRole == "" {
			ic.MemifRole = "server"
		}
		if ic.BindMode == "zerocopy" && ic.MemifRole != "client" && ic.MemifRole != "slave" {
			w.errorf(m["bind_mode"], "%s: bind_mode zerocopy: a memif server uses its client's memory and copies", what)
		}
		if ic.Queues == 0 {
			ic.Queues = workers
		}
		if ic.RingSize == 0 {
			ic.RingSize = DefaultMemifRingSize
		}
		if ic.RingSize > MaxMemifRingSize {
			w.errorf(m["ring_size"], "%s: ring_size %d: memif rings have at most %d descriptors", what, ic.RingSize, MaxMemifRingSize)
		}
	}
	if IsKernel(ic.Driver) {
		if ic.Device == "" {
			ic.Device = ic.Name
		}
		if ic.Queues == 0 {
			ic.Queues = workers
		}
	}
	if (ic.Driver == "afxdp" || ic.Driver == "afpacket") && ic.RingSize == 0 {
		ic.RingSize = DefaultRingSize
	}
	if ic.Driver == "afxdp" && ic.Match.IsZero() {
		ic.Match = Match{All: true}
	}
	return ic, len(w.errs) == errs
}

// route decodes one route; ifaces are the interfaces decoded so far.
func (w *walker) route(n *yaml.Node, ifaces map[string]bool) (Route, bool) {
	var r Route
	errs := len(w.errs)
	m := w.fields(n, "route", "prefix", "via", "interface")
	if m == nil {
		return r, false
	}
	w.require(n, m, "route", "prefix", "via")
	what := "route"
	if v, ok := m["prefix"]; ok {
		if s, ok := w.str(v, "route prefix"); ok {
			p, err := netip.ParsePrefix(s)
			switch {
			case err != nil:
				w.errorf(v, "route prefix: bad prefix %q: want an IPv4 or IPv6 prefix like 192.168.0.0/16 or 2001:db8:9::/48", s)
			case p.Addr().Is4In6() || p.Addr().Zone() != "":
				w.errorf(v, "route prefix %v: want a plain IPv4 or IPv6 prefix", p)
			case p != p.Masked():
				w.errorf(v, "route prefix %v: host bits are set; did you mean %v?", p, p.Masked())
			}
			r.Prefix = p
			what = fmt.Sprintf("route %v", s)
		}
	}
	if v, ok := m["via"]; ok {
		items := w.seq(v, what+": via", true)
		if v.Kind == yaml.SequenceNode && len(items) == 0 {
			w.errorf(v, "%s: via: at least one next hop is needed", what)
		}
		for _, it := range items {
			a, ok := w.hostAddr(it, what+": via")
			if !ok {
				continue
			}
			if r.Prefix.IsValid() && a.Is4() != r.Prefix.Addr().Is4() {
				w.errorf(it, "%s: next hop %v is not of the prefix's family", what, a)
				continue
			}
			if a.Is6() && a.IsLinkLocalUnicast() && m["interface"] == nil {
				w.errorf(it, "%s: link-local next hop %v needs an interface", what, a)
				continue
			}
			if contains(addrStrings(r.Via), a.String()) {
				w.errorf(it, "%s: next hop %v given twice", what, a)
				continue
			}
			r.Via = append(r.Via, a)
		}
	}
	if v, ok := m["interface"]; ok {
		if s, ok := w.str(v, what+": interface"); ok {
			if !ifaces[s] {
				w.errorf(v, "%s: no interface %q", what, s)
			}
			r.Interface = s
		}
	}
	return r, len(w.errs) == errs
}

// neighbor decodes one static neighbour.
func (w *walker) neighbor(n *yaml.Node, ifaces map[string]bool) (Neighbor, bool) {
	var nb Neighbor
	errs := len(w.errs)
	m := w.fields(n, "neighbor", "interface", "ip", "mac")
	if m == nil {
		return nb, false
	}
	w.require(n, m, "neighbor", "interface", "ip", "mac")
	if v, ok := m["ip"]; ok {
		nb.IP, _ = w.hostAddr(v, "neighbor ip")
	}
	what := "neighbor"
	if nb.IP.IsValid() {
		what = fmt.Sprintf("neighbor %v", nb.IP)
	}
	if v, ok := m["interface"]; ok {
		if s, ok := w.str(v, what+": interface"); ok {
			if !ifaces[s] {
				w.errorf(v, "%s: no interface %q", what, s)
			}
			nb.Interface = s
		}
	}
	if v, ok := m["mac"]; ok {
		nb.MAC, _ = w.unicastMAC(v, what+": mac")
	}
	return nb, len(w.errs) == errs
}

// unicastMAC reads a MAC that is neither zero nor a group address.
func (w *walker) unicastMAC(n *yaml.Node, what string) (MAC, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return MAC{}, false
	}
	mac, err := ParseMAC(s)
	switch {
	case err != nil:
		w.errorf(n, "%s: %v", what, err)
	case mac.IsZero():
		w.errorf(n, "%s: 00:00:00:00:00:00 is not a usable address (leave mac out to pick one)", what)
	case mac.IsMulticast():
		w.errorf(n, "%s: %v is a multicast/broadcast address, want unicast", what, mac)
	default:
		return mac, true
	}
	return MAC{}, false
}

// ifaceAddr reads an interface address such as 10.0.1.1/24 or
// 2001:db8:1::1/64, keeping the host bits.
func (w *walker) ifaceAddr(n *yaml.Node, what string) (netip.Prefix, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		w.errorf(n, "%s: bad address %q: want an address with its prefix length, like 10.0.1.1/24 or 2001:db8:1::1/64", what, s)
		return netip.Prefix{}, false
	}
	a := p.Addr()
	bits := p.Bits()
	if a.Is6() {
		switch {
		case a.Is4In6() || a.Zone() != "":
			w.errorf(n, "%s %v: want a plain IPv6 address", what, p)
		case !isHost(a):
			w.errorf(n, "%s %v is not a unicast host address", what, p)
		case a.IsLinkLocalUnicast():
			w.errorf(n, "%s %v: link-local addresses are made from the MAC (EUI-64); give global ones", what, p)
		case bits < 127 && a == p.Masked().Addr():
			w.errorf(n, "%s %v is the subnet-router anycast address (RFC 4291 2.6.1)", what, p)
		default:
			return p, true
		}
		return netip.Prefix{}, false
	}
	switch {
	case !isHost(a):
		w.errorf(n, "%s %v is not a unicast host address", what, p)
	case bits <= 30 && a == p.Masked().Addr():
		w.errorf(n, "%s %v is the subnet's network address", what, p)
	case bits <= 30 && a == broadcast(p):
		w.errorf(n, "%s %v is the subnet's broadcast address", what, p)
	default:
		return p, true
	}
	return netip.Prefix{}, false
}

// hostAddr reads a unicast IPv4 or IPv6 address.
func (w *walker) hostAddr(n *yaml.Node, what string) (netip.Addr, bool) {
	s, ok := w.str(n, what)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		w.errorf(n, "%s: bad address %q: want an address like 10.0.2.2 or 2001:db8:2::2", what, s)
	case a.Is4In6() || a.Zone() != "":
		w.errorf(n, "%s %v: want a plain IPv4 or IPv6 address", what, a)
	case !isHost(a):
		w.errorf(n, "%s %v is not a unicast host address", what, a)
	default:
		return a, true
	}
	return netip.Addr{}, false
}

// path reads a non-empty file name.
func (w *walker) path(n *yaml.Node, what string) (string, bool) {
	s, ok := w.str(n, what)
	if ok && s == "" {
		w.errorf(n, "%s: empty file name", what)
		return "", false
	}
	return s, ok
}

// oneOf reads a string that must be one of choices.
func (w *walker) oneOf(n *yaml.Node, what string, choices ...string) (string, bool) {
	s, ok := w.str(n, what)
	if ok && !contains(choices, s) {
		w.errorf(n, "%s: %q is not one of %s", what, s, strings.Join(choices, ", "))
		return "", false
	}
	return s, ok
}

// checkIfName reports what is wrong with an interface or device name.
func checkIfName(s string) error {
	if s == "" || len(s) > maxIfName {
		return fmt.Errorf("%q must be 1..%d characters", s, maxIfName)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q: only letters, digits, '-', '_' and '.' are allowed", s)
		}
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%q is not a usable name", s)
	}
	return nil
}

// isHost reports whether a is an address a host may own.
func isHost(a netip.Addr) bool {
	if a.Is6() {
		return !a.Is4In6() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback()
	}
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// broadcast returns the last address of p's subnet.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func addrStrings(as []netip.Addr) []string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return s
}
