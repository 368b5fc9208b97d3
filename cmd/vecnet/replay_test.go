package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/pcap"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/l2/ethernet"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/neighbor"
	"github.com/vecnet/vecnet/wire"
)

// The pcap round trip: a capture of mixed traffic goes through vecnet with
// pcap ports; tshark reads what came out.
var (
	rtMAC0  = wire.MAC{0x02, 0, 0, 0, 0, 0x01} // router eth0
	rtMAC1  = wire.MAC{0x02, 0, 0, 0, 0, 0x02} // router eth1
	hostA   = wire.MAC{0x02, 0, 0, 0, 0x01, 0x02}
	hostB   = wire.MAC{0x02, 0, 0, 0, 0x02, 0x02}
	ipRtr0  = [4]byte{10, 0, 1, 1}
	ipHostA = [4]byte{10, 0, 1, 2}
	ipHostB = [4]byte{10, 0, 2, 2}
	ipFar   = [4]byte{192, 168, 7, 9}
	ipNone  = [4]byte{172, 16, 0, 1}
)

func writePcap(t *testing.T, path string, frames [][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcap.NewWriter(f, 65535)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	for k, fr := range frames {
		if err := w.WritePacket(ts.Add(time.Duration(k)*time.Millisecond), fr); err != nil {
			t.Fatal(err)
		}
	}
}

func mixedTraffic() [][]byte {
	spec := func(dst [4]byte, ttl uint8, proto uint8) frames.Spec {
		return frames.Spec{SrcMAC: hostA, DstMAC: rtMAC0, Src: ipHostA, Dst: dst, TTL: ttl, Proto: proto, Payload: 18}
	}
	badSum := frames.IPv4(spec(ipHostB, 64, 0))
	badSum[wire.EthernetLen+10] ^= 0x5a
	longLen := frames.IPv4(spec(ipHostB, 64, 0))
	binary.BigEndian.PutUint16(longLen[wire.EthernetLen+2:], 900)
	frames.FixIPv4Checksum(longLen)
	foreign := frames.IPv4(spec(ipHostB, 64, 0))
	copy(foreign[0:6], hostB[:])
	return [][]byte{
		frames.ARP(wire.ARPRequest, hostA, ipHostA, wire.BroadcastMAC, wire.MAC{}, ipRtr0), // → ARP reply
		frames.IPv4(spec(ipRtr0, 64, wire.IPProtoICMP)),                                    // → echo reply
		frames.IPv4(spec(ipHostB, 10, 0)),                                                  // → eth1, TTL 9
		frames.IPv4(spec(ipFar, 64, 0)),                                                    // → eth1 by the static route, TTL 63
		frames.IPv4(spec(ipHostB, 1, 0)),                                                   // → time exceeded
		frames.IPv4(spec(ipNone, 64, 0)),                                                   // → net unreachable
		badSum,                                                                             // ip4-input bad_checksum
		longLen,                                                                            // ip4-input bad_length
		frames.IPv4(spec(ipHostB, 64, 0))[:wire.EthernetLen+12],                            // ip4-input too_short
		{0x02, 0, 0},                                                                       // ethernet-input too_short
		foreign,                                                                            // ethernet-input not_for_us
	}
}

func tsharkFields(t *testing.T, file string, filter string, fields ...string) []string {
	t.Helper()
	args := []string{"-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=;"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "Running as user") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestPcapRoundTripThroughTshark(t *testing.T) {
	testutil.RequireTool(t, "tshark")
	dir := t.TempDir()
	in0, out0, in1, out1 := filepath.Join(dir, "eth0-in.pcap"), filepath.Join(dir, "eth0-out.pcap"), filepath.Join(dir, "eth1-in.pcap"), filepath.Join(dir, "eth1-out.pcap")
	writePcap(t, in0, mixedTraffic())
	writePcap(t, in1, nil)
	yaml := `workers: 1
interfaces:
  - {name: eth0, driver: pcap, mac: "02:00:00:00:00:01", addresses: [10.0.1.1/24], pcap_in: ` + in0 + `, pcap_out: ` + out0 + `}
  - {name: eth1, driver: pcap, mac: "02:00:00:00:00:02", addresses: [10.0.2.1/24], pcap_in: ` + in1 + `, pcap_out: ` + out1 + `}
routes:
  - {prefix: 192.168.0.0/16, via: [10.0.2.2]}
neighbors:
  - {interface: eth0, ip: 10.0.1.2, mac: "02:00:00:00:01:02"}
  - {interface: eth1, ip: 10.0.2.2, mac: "02:00:00:00:02:02"}
`
	cfg, err := config.Parse("roundtrip.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Slots: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitInputs(10 * time.Second); err != nil {
		d.Stop()
		t.Fatal(err)
	}
	var errs bytes.Buffer
	if err := d.CLI.Exec(&errs, "show errors"); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil { // flushes the pcap files; fails on a buffer leak
		t.Fatal(err)
	}

	// Forwarded: TTL decremented, checksums valid, MACs rewritten.
	fwd := tsharkFields(t, out1, "udp", "eth.src", "eth.dst", "ip.dst", "ip.ttl", "ip.checksum.status", "udp.checksum.status")
	want := []string{
		"02:00:00:00:00:02;02:00:00:00:02:02;10.0.2.2;9;1;1", // checksum status 1 = good
		"02:00:00:00:00:02;02:00:00:00:02:02;192.168.7.9;63;1;1",
	}
	if strings.Join(fwd, "\n") != strings.Join(want, "\n") {
		t.Errorf("eth1 out (tshark):\n%s\nwant:\n%s", strings.Join(fwd, "\n"), strings.Join(want, "\n"))
	}
	// Back to host A: ARP reply, echo reply, time exceeded, net unreachable.
	back := tsharkFields(t, out0, "", "eth.dst", "arp.opcode", "icmp.type", "icmp.code", "ip.checksum.status", "icmp.checksum.status")
	// (The errors quote the original header, whose checksum tshark checks too.)
	wantBack := []string{
		"02:00:00:00:01:02;2;;;;",
		"02:00:00:00:01:02;;0;0;1;1",
		"02:00:00:00:01:02;;11;0;1,1;1",
		"02:00:00:00:01:02;;3;0;1,1;1",
	}
	slices.Sort(back)
	slices.Sort(wantBack)
	if strings.Join(back, "\n") != strings.Join(wantBack, "\n") {
		t.Errorf("eth0 out (tshark):\n%s\nwant:\n%s", strings.Join(back, "\n"), strings.Join(wantBack, "\n"))
	}
	// show errors names each drop.
	for _, c := range []string{"bad_checksum", "bad_length", "too_short", "not_for_us", "ttl_expired", "no_route", "echo_replies", "replies_sent"} {
		if !strings.Contains(errs.String(), c) {
			t.Errorf("show errors lacks %s:\n%s", c, errs.String())
		}
	}
	t.Logf("show errors:\n%s", errs.String())
}

// TestExampleReplayConfig replays examples/configs/pcap-router.yaml, whose
// inputs are the capture of mixedTraffic in examples/pcap (rewritten with
// VECNET_WRITE_EXAMPLE_PCAP=1), as the README shows.
func TestExampleReplayConfig(t *testing.T) {
	t.Chdir("../..")
	if os.Getenv("VECNET_WRITE_EXAMPLE_PCAP") != "" {
		writePcap(t, "examples/pcap/eth0-in.pcap", mixedTraffic())
		writePcap(t, "examples/pcap/eth1-in.pcap", nil)
	}
	cfg, err := config.Load("examples/configs/pcap-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for k := range cfg.Interfaces { // outputs to this test's directory
		cfg.Interfaces[k].PcapOut = filepath.Join(t.TempDir(), cfg.Interfaces[k].Name+"-out.pcap")
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Slots: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitInputs(10 * time.Second); err != nil {
		d.Stop()
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, rows := range d.Errors() {
		for _, r := range rows {
			got[r.Node+"/"+r.Name] += r.Count
		}
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{neighbor.ARPInputName + "/replies_sent", ip4.InputName + "/bad_checksum", ethernet.NodeName + "/too_short",
		ip4.RewriteName + "/ttl_expired", ip4.LookupName + "/no_route"} {
		if got[c] == 0 {
			t.Errorf("replaying the example counted no %s: %v", c, got)
		}
	}
}
