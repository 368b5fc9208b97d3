package ctl

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/vecnet/vecnet/control/cli"
)

// JSONFlag, given after a show command ("show fib --json"; vecnetctl -json
// adds it), selects the JSON renderer. "-json" is accepted too.
const JSONFlag = "--json"

// WriteJSON writes v as indented JSON with a final newline: the JSON
// renderer of every show command.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Commands returns the CLI commands over b: every show command (with
// --json), and every change.
func Commands(b Backend) []cli.Command {
	return []cli.Command{
		showCmd("show runtime", "per-node calls, vectors, clocks/packet and vectors/call, per worker state", b.Runtime, WriteRuntime),
		showCmd("show errors", "error counters by node and reason", b.Errors, WriteErrors),
		showCmd("show interfaces", "interfaces with addresses and counters", b.Interfaces, WriteInterfaces),
		showCmd("show offload", "software GSO segmentation and checksum completion per interface, and frames not handled", b.Offload, WriteOffload),
		showCmd("show fib", "the IPv4 forwarding table", b.FIB, WriteFIB),
		showCmd("show neighbors", "ARP entries with their state, then the table's and the FIB's adjacency counts", b.Neighbors, WriteNeighbors),
		showCmd("show neighbors stats", "neighbour and adjacency counts as \"key value\" lines (for scripts)",
			func() (NeighborStats, error) { r, err := b.Neighbors(); return r.Stats, err }, WriteNeighborStats),
		showCmd("show trace", "what each node did to the traced packets", b.Trace, WriteTrace),
		showCmd("show acls", "ACLs with each rule's hit count", b.ACLs, WriteACLs),
		showCmd("show sessions", "the stateful firewall's sessions, per worker", b.Sessions, WriteSessions),
		showCmd("show nat sessions", "NAT44 mappings, per worker", b.NATSessions, WriteNATSessions),
		showCmd("show bridge", "bridge domains: members (with split-horizon groups), BVI, age, MAC bound and learnt MACs", b.Bridges, WriteBridges),
		showCmd("show bridge macs", "learnt MACs of every bridge domain, per worker, with the member they are on", b.BridgeMACs, WriteBridgeMACs),
		noArgs("clear bridge macs", "forget every bridge domain's learnt MACs", b.BridgeMACsClear),
		showCmd("show policers", "policers with their rates and per-colour packet and byte counts", b.Policers, WritePolicers),
		showCmd("show linux-cp", "linux-cp pairs (vecnet interface and its TAP in the kernel) with punted and injected counts, and the netlink mirror's counters", b.LinuxCP, WriteLinuxCP),
		{Path: "trace add", Help: "trace add N: trace the next N packets on every worker", Run: func(w io.Writer, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("usage: trace add N")
			}
			n, err := ParseTraceCount(args[0])
			if err != nil {
				return fmt.Errorf("trace add: %w", err)
			}
			if err := b.TraceAdd(n); err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "tracing the next %d packets on every worker\n", n)
			return err
		}},
		noArgs("clear trace", "drop trace records", b.TraceClear),
		noArgs("clear runtime", "zero node statistics", b.RuntimeClear),
		noArgs("clear errors", "zero error counters", b.ErrorsClear),
		{Path: "ip route add", Help: "ip route add PREFIX via ADDR [ADDR...] [dev IFACE]", Run: func(w io.Writer, args []string) error {
			r, err := parseRoute(args)
			if err != nil {
				return err
			}
			if err := b.RouteAdd(r); err != nil {
				return fmt.Errorf("ip route add: %w", err)
			}
			_, err = fmt.Fprintf(w, "added %v\n", r.Prefix.Masked())
			return err
		}},
		{Path: "ip route del", Help: "ip route del PREFIX", Run: func(w io.Writer, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("usage: ip route del PREFIX")
			}
			p, err := netip.ParsePrefix(args[0])
			if err != nil {
				return fmt.Errorf("ip route del: %w", err)
			}
			if err := b.RouteDel(p.Masked()); err != nil {
				return fmt.Errorf("ip route del: %w", err)
			}
			_, err = fmt.Fprintf(w, "deleted %v\n", p.Masked())
			return err
		}},
		{Path: "ip route batch", Help: "ip route batch FILE: apply the file's lines (PREFIX via ADDR [ADDR...] [dev IFACE], or del PREFIX) as one batch", Run: func(w io.Writer, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("usage: ip route batch FILE")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("ip route batch: %w", Errorf(BadInput, "%v", err))
			}
			changes, err := ParseRouteBatch(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("ip route batch: %w", err)
			}
			res, err := b.RouteBatch(changes)
			if err != nil {
				return fmt.Errorf("ip route batch: %w", err)
			}
			_, err = fmt.Fprintf(w, "added %d, deleted %d\n", res.Added, res.Deleted)
			return err
		}},
		{Path: "ip neighbor add", Help: "ip neighbor add IFACE IP MAC: a static ARP entry", Run: func(w io.Writer, args []string) error {
			if len(args) != 3 {
				return fmt.Errorf("usage: ip neighbor add IFACE IP MAC")
			}
			ip, err := netip.ParseAddr(args[1])
			if err != nil {
				return fmt.Errorf("ip neighbor add: %w", err)
			}
			if err := b.NeighborAdd(Neighbor{Interface: args[0], IP: ip, MAC: args[2]}); err != nil {
				return fmt.Errorf("ip neighbor add: %w", err)
			}
			_, err = fmt.Fprintf(w, "added %v on %s\n", ip, args[0])
			return err
		}},
		{Path: "ip neighbor del", Help: "ip neighbor del IFACE IP", Run: func(w io.Writer, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("usage: ip neighbor del IFACE IP")
			}
			ip, err := netip.ParseAddr(args[1])
			if err != nil {
				return fmt.Errorf("ip neighbor del: %w", err)
			}
			if err := b.NeighborDel(args[0], ip); err != nil {
				return fmt.Errorf("ip neighbor del: %w", err)
			}
			_, err = fmt.Fprintf(w, "deleted %v on %s\n", ip, args[0])
			return err
		}},
		addressCmd("ip address add", b.AddressAdd, "added"),
		addressCmd("ip address del", b.AddressDel, "deleted"),
		linkCmd("interface up", b, true),
		linkCmd("interface down", b, false),
	}
}

// showCmd is a show command: no arguments but --json.
func showCmd[T any](path, help string, get func() (T, error), table func(io.Writer, T) error) cli.Command {
	return cli.Command{Path: path, Help: help + " [--json]", Run: func(w io.Writer, args []string) error {
		asJSON := false
		for _, a := range args {
			switch {
			case a == JSONFlag || a == "-json":
				asJSON = true
			case strings.HasPrefix(a, "-"):
				return fmt.Errorf("%s: unknown flag %q (only %s)", path, a, JSONFlag)
			default:
				return fmt.Errorf("%s: unexpected argument %q", path, a)
			}
		}
		v, err := get()
		var werr error
		if asJSON {
			werr = WriteJSON(w, v)
		} else {
			werr = table(w, v)
		}
		if err != nil {
			return err // a wedged worker's rows are missing: say which
		}
		return werr
	}}
}

func noArgs(path, help string, f func() error) cli.Command {
	return cli.Command{Path: path, Help: help, Run: func(_ io.Writer, args []string) error {
		if len(args) != 0 {
			return fmt.Errorf("%s: unexpected argument %q", path, args[0])
		}
		return f()
	}}
}

func addressCmd(path string, f func(string, netip.Prefix) error, done string) cli.Command {
	return cli.Command{Path: path, Help: path + " IFACE ADDR/LEN", Run: func(w io.Writer, args []string) error {
		if len(args) != 2 {
			return fmt.Errorf("usage: %s IFACE ADDR/LEN", path)
		}
		p, err := netip.ParsePrefix(args[1])
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := f(args[0], p); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		_, err = fmt.Fprintf(w, "%s %v on %s\n", done, p, args[0])
		return err
	}}
}

func linkCmd(path string, b Backend, up bool) cli.Command {
	return cli.Command{Path: path, Help: path + " IFACE", Run: func(w io.Writer, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("usage: %s IFACE", path)
		}
		if err := b.LinkSet(args[0], up); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}}
}

// parseRoute parses "PREFIX via ADDR [ADDR...] [dev IFACE]".
func parseRoute(args []string) (Route, error) {
	if len(args) < 3 || args[1] != "via" {
		return Route{}, fmt.Errorf("usage: ip route add PREFIX via ADDR [ADDR...] [dev IFACE]")
	}
	p, err := netip.ParsePrefix(args[0])
	if err != nil {
		return Route{}, fmt.Errorf("ip route add: %w", err)
	}
	r := Route{Prefix: p.Masked()}
	for k := 2; k < len(args); k++ {
		if args[k] == "dev" && k+1 < len(args) {
			r.Interface = args[k+1]
			k++
			continue
		}
		a, err := netip.ParseAddr(args[k])
		if err != nil {
			return Route{}, fmt.Errorf("ip route add: next hop: %w", err)
		}
		r.Via = append(r.Via, a)
	}
	return r, nil
}

// ParseRouteBatch reads a route batch, one change a line: "PREFIX via
// ADDR [ADDR...] [dev IFACE]" adds (an "add " in front is allowed), "del
// PREFIX" deletes; blank lines and lines starting with # are skipped.
func ParseRouteBatch(r io.Reader) ([]RouteChange, error) {
	var out []RouteChange
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "del" {
			if len(f) != 2 {
				return nil, Errorf(BadInput, "line %d: want del PREFIX", n)
			}
			p, err := netip.ParsePrefix(f[1])
			if err != nil {
				return nil, Errorf(BadInput, "line %d: %v", n, err)
			}
			out = append(out, RouteChange{Prefix: p.Masked(), Delete: true})
			continue
		}
		if f[0] == "add" {
			f = f[1:]
		}
		rt, err := parseRoute(f)
		if err != nil {
			return nil, Errorf(BadInput, "line %d: %v", n, err)
		}
		out = append(out, RouteChange{Prefix: rt.Prefix, Via: rt.Via, Interface: rt.Interface})
		if len(out) > MaxRouteBatch {
			return nil, Errorf(BadInput, "more than %d changes", MaxRouteBatch)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, Errorf(BadInput, "%v", err)
	}
	return out, CheckRouteBatch(out)
}

// ParseTraceCount parses trace add's N, 1..MaxTrace.
func ParseTraceCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > MaxTrace {
		return 0, Errorf(BadInput, "N must be 1..%d, got %q", MaxTrace, s)
	}
	return n, nil
}

// ParseMAC parses a MAC address in the aa:bb:cc:dd:ee:ff notation.
func ParseMAC(s string) ([6]byte, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return [6]byte{}, Errorf(BadInput, "%q is not a MAC address (aa:bb:cc:dd:ee:ff)", s)
	}
	return [6]byte(hw), nil
}
