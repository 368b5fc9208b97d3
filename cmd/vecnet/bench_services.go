package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
)

// "vecnet bench services": the forwarding rig with the services a router
// product sells back on top of bypass — an ACL of many rules on the inside
// interface whose permit+reflect rule the traffic matches late, the
// sessions it opens, and NAT44 masquerading to the outside address — run by
// vecnet (AF_XDP) and by the kernel with the same rules in nftables
// (conntrack, masquerade), interleaved with plain forwarding by both.

// Services configurations: the plain rows are bench forward's.
const (
	svcKernel = "kernel-nft" // the kernel forwarding through the nftables ruleset
	svcVecnet = "afxdp-svc"  // vecnet (AF_XDP) with the ACL, sessions and NAT44
)

// servicesConfigs are the default rows, plain forwarding beside for reference.
var servicesConfigs = []string{"kernel", "afxdp", svcKernel, svcVecnet}

// ServicesOptions shape one "vecnet bench services" run.
type ServicesOptions struct {
	ForwardOptions
	Rules int // ACL rules, the matching permit+reflect rule last
}

// servicesACLName is the ACL's name in vecnet's configuration.
const servicesACLName = "bench-in"

// nftTable is the nftables table the kernel configuration loads.
const nftTable = "vecnet_bench"

// ServicesRules returns n rules: n-1 deny rules of varied shapes that the
// generator's traffic (UDP host A → host B port 9) never matches, then the
// permit+reflect rule it does match. n must be at least 1.
func ServicesRules(n int) []acl.Rule {
	rules := make([]acl.Rule, 0, n)
	for i := range n - 1 {
		a, b := byte(i>>8), byte(i)
		r := acl.Rule{Action: acl.Deny}
		port := uint16(1000 + i%50000)
		switch i % 4 {
		case 0: // one source host, to the far net, one UDP port
			r.Proto, r.Src, r.Dst = acl.ProtoUDP, pfx(10, 100, a, b, 32), netip.MustParsePrefix(topo.NetB)
			r.DstPorts = acl.PortRange{Lo: port, Hi: port}
		case 1: // a source /24, one TCP port
			r.Proto, r.Src = acl.ProtoTCP, pfx(10, 101, b, 0, 24)
			r.DstPorts = acl.PortRange{Lo: port, Hi: port}
		case 2: // one UDP destination host, any port
			r.Proto, r.Dst = acl.ProtoUDP, pfx(10, 102, a, b, 32)
		default: // one source host, any protocol
			r.Src = pfx(10, 103, a, b, 32)
		}
		rules = append(rules, r)
	}
	return append(rules, acl.Rule{Action: acl.PermitReflect, Proto: acl.ProtoUDP,
		Src: netip.MustParsePrefix(topo.NetA), Dst: netip.MustParsePrefix(topo.NetB),
		DstPorts: acl.PortRange{Lo: 9, Hi: 9}})
}

func pfx(a, b, c, d byte, bits int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, d}), bits)
}

// ServicesConfig adds the services to a router configuration: rules as the
// inbound ACL of the inside interface (default deny) and NAT44 from it to
// the outside interface's address.
func ServicesConfig(cfg *config.Config, rules []acl.Rule) {
	cfg.ACLs = append(cfg.ACLs, config.ACL{Name: servicesACLName, Interface: topo.RouterA, Default: acl.Deny, Rules: rules})
	cfg.NAT44 = &config.NAT44{Inside: []string{topo.RouterA}, Outside: topo.RouterB}
}

// NFTRuleset returns the nftables ruleset that does in the kernel what
// ServicesConfig does in vecnet: established and related flows accepted
// first (conntrack), then the rules in order on what in receives (policy
// drop), and masquerade on what leaves by out. It fails on a rule it
// cannot express (TCP flags, ICMP type or code).
func NFTRuleset(rules []acl.Rule, in, out string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s {\n", nftTable)
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n")
	for i, r := range rules {
		if r.TCPFlagsMask != 0 || r.Proto == acl.ProtoICMP && !(r.SrcPorts.Any() && r.DstPorts.Any()) {
			return "", fmt.Errorf("rule %d (%v): no nftables form here", i+1, r)
		}
		fmt.Fprintf(&b, "\t\tiifname %q", in)
		for _, p := range []struct {
			dir string
			p   netip.Prefix
		}{{"saddr", r.Src}, {"daddr", r.Dst}} {
			if p.p.IsValid() && p.p.Bits() > 0 {
				if p.p.Bits() == 32 {
					fmt.Fprintf(&b, " ip %s %v", p.dir, p.p.Addr())
				} else {
					fmt.Fprintf(&b, " ip %s %v", p.dir, p.p.Masked())
				}
			}
		}
		var l4 string
		switch r.Proto {
		case 0:
		case acl.ProtoTCP:
			l4 = "tcp"
		case acl.ProtoUDP:
			l4 = "udp"
		case acl.ProtoICMP:
			l4 = "icmp"
		default:
			fmt.Fprintf(&b, " ip protocol %d", r.Proto)
		}
		if l4 != "" {
			fmt.Fprintf(&b, " ip protocol %s", l4)
		}
		for _, p := range []struct {
			dir string
			r   acl.PortRange
		}{{"sport", r.SrcPorts}, {"dport", r.DstPorts}} {
			switch {
			case p.r.Any():
			case p.r.Lo == p.r.Hi:
				fmt.Fprintf(&b, " %s %s %d", l4, p.dir, p.r.Lo)
			default:
				fmt.Fprintf(&b, " %s %s %d-%d", l4, p.dir, p.r.Lo, p.r.Hi)
			}
		}
		if r.Action == acl.Deny {
			b.WriteString(" drop\n")
		} else {
			b.WriteString(" accept\n") // permit+reflect: the conntrack rule admits the return
		}
	}
	b.WriteString("\t}\n")
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\toifname %q masquerade\n\t}\n}\n", out)
	return b.String(), nil
}

// nftRouter is the kernel forwarding through the services' ruleset.
type nftRouter struct{ kernel routerRun }

func startNFTRouter(br *benchRig, rules []acl.Rule) (routerRun, error) {
	ruleset, err := NFTRuleset(rules, topo.RouterA, topo.RouterB)
	if err != nil {
		return nil, err
	}
	k, err := startKernelRouter(br.rig)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "vecnet-bench-*.nft")
	if err != nil {
		k.stop()
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(ruleset)
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		_, err = br.rig.R.Run("nft", "-f", f.Name())
	}
	if err != nil {
		k.stop()
		return nil, fmt.Errorf("nft: %w", err)
	}
	return nftRouter{k}, nil
}

func (n nftRouter) snapshot() routerSnap { return n.kernel.snapshot() }

// stop removes the table (conntrack's entries time out by themselves) and
// turns kernel forwarding off.
func (n nftRouter) stop() error {
	k := n.kernel.(kernelRouter)
	_, err := k.rig.R.Run("nft", "delete", "table", "ip", nftTable)
	if e := k.stop(); err == nil {
		err = e
	}
	return err
}

// servicesRouters starts the services' two configurations.
func servicesRouters(rules []acl.Rule) func(br *benchRig, name string, opt ForwardOptions) (routerRun, bool, error) {
	return func(br *benchRig, name string, opt ForwardOptions) (routerRun, bool, error) {
		switch name {
		case svcKernel:
			r, err := startNFTRouter(br, rules)
			return r, true, err
		case svcVecnet:
			r, err := startVecnetConfig(br.rig, "afxdp", opt, func(c *config.Config) { ServicesConfig(c, rules) })
			return r, true, err
		}
		return nil, false, nil
	}
}

// RunServices runs the interleaved rounds of the services benchmark.
func RunServices(opt ServicesOptions) ([]Sample, error) {
	if opt.Rules < 1 {
		return nil, errors.New("bench services: need at least one rule")
	}
	if opt.Flows < 1 {
		return nil, errors.New("bench services: need at least one flow")
	}
	opt.Routers = servicesRouters(ServicesRules(opt.Rules))
	return RunForward(opt.ForwardOptions)
}

// ServicesRatio is the services rows' ratio: vecnet's sink rate over the
// kernel's with nftables (0 when either has no successful round).
func ServicesRatio(sum []Summary) float64 {
	var k, v float64
	for _, s := range sum {
		if s.Rounds == 0 {
			continue
		}
		switch s.Config {
		case svcKernel:
			k = s.Median.SinkPPS
		case svcVecnet:
			v = s.Median.SinkPPS
		}
	}
	if k == 0 || v == 0 {
		return 0
	}
	return v / k
}

// ServicesRatioLine is the benchmark's last line.
func ServicesRatioLine(sum []Summary) string {
	if r := ServicesRatio(sum); r > 0 {
		return fmt.Sprintf("services/kernel: %.2f", r)
	}
	return "services/kernel: n/a"
}

// WriteServicesTable prints the medians as a Markdown table, one row per
// configuration, and how to read it.
func WriteServicesTable(w io.Writer, sum []Summary, opt ServicesOptions) {
	fmt.Fprintf(w, "\nservices: %d ACL rules (match at the last) + sessions + NAT44, %d UDP flows of %d-byte frames, medians of %d interleaved rounds × %v (generator AF_XDP on CPU %d, router on CPU %d, %s, %s)\n\n",
		opt.Rules, opt.Flows, opt.Size, opt.Rounds, opt.Window, opt.SenderCPU, opt.RouterCPU, napiNote(opt.NAPI, opt.RouterCPU, "router"), forwardRigOptions.Offloads())
	var plainKernel float64
	for _, s := range sum {
		if s.Config == "kernel" && s.Rounds > 0 {
			plainKernel = s.Median.SinkPPS
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| config\t services\t offered Mpps\t sink Mpps\t loss\t ×kernel (plain)\t CPU ns/pkt\t graph ns/pkt\t vec/call\t router rx drops\t limit\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, s := range sum {
		what := "none"
		if s.Config == svcKernel || s.Config == svcVecnet {
			what = "ACL+sessions+NAT44"
		}
		if s.Rounds == 0 {
			fmt.Fprintf(tw, "| %s\t %s\t unavailable: %s\t\t\t\t\t\t\t\t\t\n", s.Config, what, s.firstError())
			continue
		}
		m := s.Median
		ratio, graphNs, vec := "–", "–", "–"
		if plainKernel > 0 {
			ratio = fmt.Sprintf("%.2f", m.SinkPPS/plainKernel)
		}
		if m.GraphNsPerPkt > 0 {
			graphNs, vec = fmt.Sprintf("%.0f", m.GraphNsPerPkt), fmt.Sprintf("%.1f", m.VectorsPerCall)
		}
		fmt.Fprintf(tw, "| %s\t %s\t %.3f\t %.3f\t %.0f%%\t %s\t %.0f\t %s\t %s\t %d\t %s\t\n", s.Config, what,
			m.OfferedPPS/1e6, m.SinkPPS/1e6, 100*m.RouterLoss, ratio, m.CPUNsPerPkt, graphNs, vec, m.RouterRxDrops, limit(m))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nper round, sink Mpps:")
	writeRounds(w, sum, "%.3f", 1e6)
	fmt.Fprintf(w, "\n%s: nftables, `ct state established,related accept` first, the %d rules in one chain (one-way UDP stays\n", svcKernel, opt.Rules)
	fmt.Fprintln(w, "conntrack state NEW, so every packet walks the chain to its rule), masquerade on the outside veth.")
	fmt.Fprintf(w, "%s: vecnet's ACL (tuple-space classifier) with permit+reflect sessions, NAT44 to the outside address.\n", svcVecnet)
}

// cmdBenchServices runs "vecnet bench services".
func cmdBenchServices(path string, args []string) error {
	fs := newFlags(path, "[flags]", "Forward UDP flows host A → router → host B through an ACL of many rules, sessions and NAT44:\nvecnet (AF_XDP) against the kernel with nftables (conntrack, masquerade), plain forwarding beside;\nprint the medians, end with \"services/kernel: R\".")
	rounds := fs.Int("rounds", 3, "interleaved rounds over the configurations")
	seconds := fs.Float64("seconds", 5, "measurement window per configuration and round, in seconds")
	size := fs.Int("size", 64, "frame size on the wire, FCS included")
	flows := fs.Int("flows", 1024, "UDP flows (source ports) the generator rotates over: sessions and NAT mappings")
	rules := fs.Int("rules", 1000, "ACL rules; the traffic matches the last")
	configs := fs.String("configs", strings.Join(servicesConfigs, ","), "configurations to compare ("+svcKernel+", "+svcVecnet+"; kernel and afxdp are plain forwarding)")
	xdpMode := fs.String("xdp-mode", "", "afxdp's XDP attach mode: native, generic or empty (the driver's choice)")
	show := fs.Bool("show", false, "print show runtime/errors/interfaces after each vecnet window")
	jsonPath := fs.String("json", "", "write the samples and medians as JSON to this file")
	dump := fs.String("dump", "", "write the nftables ruleset and vecnet's YAML configuration into this directory and exit")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	opt := ServicesOptions{Rules: *rules, ForwardOptions: ForwardOptions{
		Rounds: *rounds, Window: time.Duration(*seconds * float64(time.Second)), Warmup: 500 * time.Millisecond,
		Size: *size, Configs: strings.Split(*configs, ","), SenderCPU: 0, RouterCPU: 1, Log: os.Stderr,
		XDPMode: *xdpMode, Flows: *flows,
	}}
	if *show {
		opt.Show = os.Stderr
	}
	if *dump != "" {
		return dumpServices(*dump, opt.Rules)
	}
	if err := benchNeeds("services", "nft"); err != nil {
		return err
	}
	defer removeRigOnSignal()()
	samples, err := RunServices(opt)
	if err != nil {
		return err
	}
	sum := Summarize(samples, opt.Configs)
	WriteServicesTable(os.Stdout, sum, opt)
	if *jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Options ServicesOptions `json:"options"`
			Samples []Sample        `json:"samples"`
			Medians []Summary       `json:"medians"`
		}{opt, samples, sum}, "", "  ")
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(ServicesRatioLine(sum))
	return nil
}

// ServicesFiles returns the nftables ruleset and vecnet's YAML
// configuration of the services benchmark with n rules.
func ServicesFiles(n int) (nft string, yaml []byte, err error) {
	rules := ServicesRules(n)
	if nft, err = NFTRuleset(rules, topo.RouterA, topo.RouterB); err != nil {
		return "", nil, err
	}
	cfg := DemoConfig(&topo.Rig{R: topo.NS{Name: "router"}}, "afxdp", "", "")
	ServicesConfig(cfg, rules)
	yaml, err = config.Marshal(cfg)
	return nft, yaml, err
}

func dumpServices(dir string, n int) error {
	nft, y, err := ServicesFiles(n)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "services.nft"), []byte(nft), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), y, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", filepath.Join(dir, "services.nft"), filepath.Join(dir, "services.yaml"))
	return nil
}
