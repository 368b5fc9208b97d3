package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/service/acl"
)

// TestServicesFiles checks the generated configurations: vecnet's YAML
// parses back to the same 1 000 rules, ACL and NAT44, the traffic's key
// matches the last rule only, and nft accepts the ruleset (nft -c, in a
// namespace of the test's own).
func TestServicesFiles(t *testing.T) {
	nft, y, err := ServicesFiles(1000)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("services.yaml", y)
	if err != nil {
		t.Fatalf("vecnet's configuration does not parse: %v", err)
	}
	if len(cfg.ACLs) != 1 || len(cfg.ACLs[0].Rules) != 1000 || cfg.ACLs[0].Interface != topo.RouterA || cfg.ACLs[0].Default != acl.Deny {
		t.Fatalf("acls: %+v", cfg.ACLs)
	}
	if cfg.NAT44 == nil || cfg.NAT44.Outside != topo.RouterB || len(cfg.NAT44.Inside) != 1 || cfg.NAT44.Inside[0] != topo.RouterA {
		t.Fatalf("nat44: %+v", cfg.NAT44)
	}
	c, err := acl.Compile(cfg.ACLs[0].Rules)
	if err != nil {
		t.Fatal(err)
	}
	// The generator's flows: host A's ports 10000.., to host B's port 9.
	k := acl.Key{Proto: acl.ProtoUDP, SrcPort: 10000, DstPort: 9,
		Src: mustAddr4(topo.HostAAddr), Dst: mustAddr4(topo.HostBAddr)}
	if got := c.Lookup(&k); got != 999 {
		t.Errorf("the traffic matches rule %d, want the last (999)", got)
	}
	if n := strings.Count(nft, " drop\n"); n != 999 {
		t.Errorf("ruleset has %d drop rules, want 999", n)
	}
	for _, want := range []string{"ct state established,related accept", `oifname "rb" masquerade`,
		`iifname "ra" ip saddr 10.77.1.0/24 ip daddr 10.77.2.0/24 ip protocol udp udp dport 9 accept`} {
		if !strings.Contains(nft, want) {
			t.Errorf("ruleset lacks %q", want)
		}
	}
	if _, err := NFTRuleset([]acl.Rule{{Proto: acl.ProtoTCP, TCPFlags: 2, TCPFlagsMask: 2}}, "a", "b"); err == nil {
		t.Error("a rule with TCP flags was written without them")
	}
	testutil.RequireTool(t, "nft")
	ns := testutil.NewNS(t, "vnsvc")
	path := filepath.Join(t.TempDir(), "services.nft")
	if err := os.WriteFile(path, []byte(nft), 0o644); err != nil {
		t.Fatal(err)
	}
	ns.Run("nft", "-c", "-f", path)
}

func mustAddr4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.BigEndian.Uint32(a[:])
}

// TestServicesTableAndRatio checks the table and the last line from
// synthetic samples.
func TestServicesTableAndRatio(t *testing.T) {
	samples := []Sample{
		{Config: "kernel", Round: 1, SinkPPS: 2e6, OfferedPPS: 3e6},
		{Config: svcKernel, Round: 1, SinkPPS: 0.5e6, OfferedPPS: 3e6},
		{Config: svcVecnet, Round: 1, SinkPPS: 1e6, OfferedPPS: 3e6, GraphNsPerPkt: 90, VectorsPerCall: 64},
		{Config: "afxdp", Round: 1, Err: "no AF_XDP"},
	}
	sum := Summarize(samples, servicesConfigs)
	if got := ServicesRatioLine(sum); got != "services/kernel: 2.00" {
		t.Errorf("ratio line %q", got)
	}
	var out bytes.Buffer
	WriteServicesTable(&out, sum, ServicesOptions{Rules: 1000, ForwardOptions: ForwardOptions{Rounds: 1, Window: time.Second, Size: 64, Flows: 1024}})
	s := out.String()
	for _, want := range []string{"1000 ACL rules", "1024 UDP flows", "| afxdp ", "unavailable: no AF_XDP", "| " + svcVecnet, "ACL+sessions+NAT44", " 0.50 "} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if got := ServicesRatioLine(sum[:2]); got != "services/kernel: n/a" {
		t.Errorf("ratio line without vecnet's row: %q", got)
	}
}

// TestBenchServicesRun runs one short round of the two services
// configurations on the rig: both forward the generator's flows (the ACL's
// default is deny, so a row with packets at the sink passed the last rule),
// and vecnet's counters show sessions opened and hit and packets translated.
func TestBenchServicesRun(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "nft")
	opt := ServicesOptions{Rules: 1000, ForwardOptions: ForwardOptions{
		Rounds: 1, Window: time.Second, Warmup: 300 * time.Millisecond, Size: 64, Flows: 256,
		Configs: []string{svcKernel, svcVecnet}, SenderCPU: 0, RouterCPU: 1, Log: io.Discard,
	}}
	var show bytes.Buffer
	opt.Show = &show
	samples, err := RunServices(opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Err != "" || s.Forwarded == 0 {
			t.Errorf("%s: forwarded %d, error %q", s.Config, s.Forwarded, s.Err)
		}
	}
	if got := ServicesRatioLine(Summarize(samples, opt.Configs)); got == "services/kernel: n/a" {
		t.Errorf("no ratio: %q", got)
	}
	for _, want := range []string{"session_opened", "session_hit", "translated"} {
		if !strings.Contains(show.String(), want) {
			t.Errorf("vecnet's show errors has no %s:\n%s", want, show.String())
		}
	}
}
