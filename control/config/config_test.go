package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// full is a config that sets every key.
const full = `workers: 2
socket: /tmp/vecnet-test/cli.sock
interfaces:
  - name: wan
    driver: afxdp
    device: veth-wan
    netns: ns-wan
    mac: 02:AA:bb:cc:dd:01
    mtu: 3000
    addresses: [10.0.1.1/24, 172.16.0.1/31]
    queues: 2
    xdp_mode: generic
    bind_mode: copy
    ring_size: 4096
    match: udp dst 10.0.1.1 dport 53,5353
  - name: lan
    driver: afpacket
    addresses: 10.0.2.1/24
  - name: punt
    driver: tap
    mtu: 1400
  - name: test
    driver: mem
routes:
  - prefix: 192.168.0.0/16
    via: [10.0.2.2, 10.0.2.3]
    interface: lan
  - prefix: 0.0.0.0/0
    via: 10.0.1.254
neighbors:
  - interface: lan
    ip: 10.0.2.2
    mac: 02:00:00:00:02:02
`

func TestParseFull(t *testing.T) {
	c, err := Parse("full.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Workers: 2,
		Socket:  "/tmp/vecnet-test/cli.sock",
		Interfaces: []Interface{
			{
				Name: "wan", Driver: "afxdp", Device: "veth-wan", Netns: "ns-wan",
				MAC: MAC{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}, MTU: 3000,
				Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("172.16.0.1/31")},
				Queues:    2, XDPMode: "generic", BindMode: "copy", RingSize: 4096,
				Match: Match{DstIP: []netip.Addr{netip.MustParseAddr("10.0.1.1")}, Proto: "udp", DstPort: []uint16{53, 5353}},
			},
			{
				Name: "lan", Driver: "afpacket", Device: "lan", Queues: 2, RingSize: DefaultRingSize,
				Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")},
			},
			{Name: "punt", Driver: "tap", Device: "punt", MTU: 1400, Queues: 2},
			{Name: "test", Driver: "mem", MTU: 1500},
		},
		Routes: []Route{
			{Prefix: netip.MustParsePrefix("192.168.0.0/16"), Via: []netip.Addr{netip.MustParseAddr("10.0.2.2"), netip.MustParseAddr("10.0.2.3")}, Interface: "lan"},
			{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Via: []netip.Addr{netip.MustParseAddr("10.0.1.254")}},
		},
		Neighbors: []Neighbor{{Interface: "lan", IP: netip.MustParseAddr("10.0.2.2"), MAC: MAC{2, 0, 0, 0, 2, 2}}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", c, want)
	}
	// Round trip: Marshal then Parse gives the same Config.
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("marshalled.yaml", b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(c2, c) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v\n%s", c2, c, b)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("d.yaml", []byte("interfaces:\n  - {name: x, driver: afxdp}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ic := c.Interfaces[0]
	if c.Workers != 1 || c.Socket != DefaultSocket || ic.MTU != 0 || ic.Device != "x" ||
		ic.Queues != 1 || ic.RingSize != DefaultRingSize || !ic.Match.All || ic.XDPMode != "" || ic.BindMode != "" {
		t.Fatalf("defaults not filled: %+v %+v", c, ic)
	}
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../../examples/configs/pcap-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Interfaces) != 2 || c.Interfaces[0].Addresses[0] != netip.MustParsePrefix("10.0.1.1/24") ||
		c.Interfaces[1].PcapOut == "" || len(c.Routes) != 1 || c.Routes[0].Via[0] != netip.MustParseAddr("10.0.2.2") ||
		len(c.Neighbors) != 1 {
		t.Fatalf("unexpected example config: %+v", c)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir() + "/nope.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want ErrNotExist", err)
	}
}

// pcapIf is a valid interface used as the context of error cases.
const pcapIf = "  - name: eth0\n    driver: pcap\n    pcap_in: in.pcap\n    addresses: [10.0.1.1/24]\n"

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int    // line of the first error; 0 = no line
		want string // substring of the message
	}{
		{"empty", "", 0, "empty config"},
		{"null", "~\n", 1, "empty config"},
		{"syntax", "workers: 1\n  bad: [\n", 2, "YAML syntax"},
		{"two documents", "workers: 1\n---\nworkers: 2\n", 2, "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", 1, "want a mapping"},
		{"unknown top key", "workerz: 2\ninterfaces:\n" + pcapIf, 1, `unknown key "workerz"`},
		{"duplicate key", "workers: 1\nworkers: 1\ninterfaces:\n" + pcapIf, 2, `"workers" given twice`},
		{"no interfaces", "workers: 1\n", 1, `missing "interfaces"`},
		{"empty interfaces", "interfaces: []\n", 1, "at least one interface"},
		{"interfaces not a list", "interfaces: eth0\n", 1, "want a list"},
		{"workers zero", "workers: 0\ninterfaces:\n" + pcapIf, 1, "0 is out of range 1..64"},
		{"workers too many", "workers: 65\ninterfaces:\n  - {name: a, driver: mem}\n", 1, "out of range 1..64"},
		{"workers not int", "workers: two\ninterfaces:\n" + pcapIf, 1, `"two" is not an integer`},
		{"workers quoted", "workers: \"2\"\ninterfaces:\n" + pcapIf, 1, "not an integer"},
		{"socket too long", "socket: /" + strings.Repeat("x", 120) + "\ninterfaces:\n" + pcapIf, 1, "unix socket path"},
		{"alias", "x: &a 1\n", 1, `unknown key "x"`},
		{"alias used", "interfaces:\n  - &i {name: a, driver: mem}\n  - *i\n", 3, "aliases are not supported"},
		{"unknown interface key", "interfaces:\n  - name: a\n    driver: mem\n    speed: 10\n", 4, `unknown key "speed"`},
		{"missing name", "interfaces:\n  - driver: mem\n", 2, `missing "name"`},
		{"missing driver", "interfaces:\n  - name: a\n", 2, `missing "driver"`},
		{"unknown driver", "interfaces:\n  - name: a\n    driver: dpdk\n", 3, `unknown driver "dpdk"`},
		{"bad name", "interfaces:\n  - name: a b\n    driver: mem\n", 2, "only letters"},
		{"long name", "interfaces:\n  - name: abcdefghijklmnop\n    driver: mem\n", 2, "1..15 characters"},
		{"duplicate name", "interfaces:\n  - {name: a, driver: mem}\n  - {name: a, driver: mem}\n", 3, "name already used at line 2"},
		{"bad mac", "interfaces:\n  - name: a\n    driver: mem\n    mac: 02:00:00:00:00\n", 4, "bad MAC"},
		{"bad mac hex", "interfaces:\n  - name: a\n    driver: mem\n    mac: 02:00:00:00:00:0g\n", 4, "bad MAC"},
		{"zero mac", "interfaces:\n  - name: a\n    driver: mem\n    mac: 00:00:00:00:00:00\n", 4, "not a usable address"},
		{"multicast mac", "interfaces:\n  - name: a\n    driver: mem\n    mac: 01:00:5e:00:00:01\n", 4, "want unicast"},
		{"mtu low", "interfaces:\n  - name: a\n    driver: mem\n    mtu: 67\n", 4, "67 is out of range 68..65535"},
		{"mtu over a buffer", "interfaces:\n  - name: a\n    driver: mem\n    mtu: 3823\n", 4, "mtu 3823 is larger than a packet buffer holds: at most 3822"},
		{"mtu jumbo", "interfaces:\n  - name: a\n    driver: afxdp\n    mtu: 9000\n", 4, "mtu 9000 is larger than a packet buffer holds"},
		{"mtu high", "interfaces:\n  - name: a\n    driver: mem\n    mtu: 65536\n", 4, "out of range 68..65535"},
		{"bad prefix", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [10.0.1.1]\n", 4, `bad address "10.0.1.1"`},
		{"ipv6 link-local address", "interfaces:\n  - name: a\n    driver: mem\n    addresses:\n      - fe80::1/64\n", 5, "link-local addresses are made from the MAC"},
		{"ipv6 subnet-router anycast", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [10.0.1.1/24, \"2001:db8:1::/64\"]\n", 4, "subnet-router anycast"},
		{"ipv6 multicast address", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [\"ff02::1/64\"]\n", 4, "not a unicast host"},
		{"ipv6 bad address", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [\"2001:db8::g/64\"]\n", 4, "bad address"},
		{"network address", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [10.0.1.0/24]\n", 4, "network address"},
		{"broadcast address", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [10.0.1.255/24]\n", 4, "broadcast address"},
		{"multicast address", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [224.0.0.1/24]\n", 4, "not a unicast host"},
		{"overlapping addresses", "interfaces:\n  - name: a\n    driver: mem\n    addresses: [10.0.1.1/24, 10.0.1.2/24]\n", 4, "overlaps"},
		{"duplicate address", "interfaces:\n  - {name: a, driver: mem, addresses: [10.0.1.1/24]}\n  - {name: b, driver: mem, addresses: [10.0.1.1/16]}\n", 3, "address 10.0.1.1 already used at line 2"},
		{"duplicate subnet", "interfaces:\n  - {name: a, driver: mem, addresses: [10.0.1.1/24]}\n  - {name: b, driver: mem, addresses: [10.0.1.2/24]}\n", 3, "subnet 10.0.1.0/24 is already"},
		{"pcap without files", "interfaces:\n  - name: a\n    driver: pcap\n", 2, "needs pcap_in and/or pcap_out"},
		{"pcap empty file", "interfaces:\n  - name: a\n    driver: pcap\n    pcap_out: ''\n", 4, "empty file name"},
		{"pcap two workers", "workers: 2\ninterfaces:\n  - name: a\n    driver: pcap\n    pcap_in: x\n", 4, "runs on one worker, but workers is 2"},
		{"pcap_in on mem", "interfaces:\n  - name: a\n    driver: mem\n    pcap_in: x\n", 4, "pcap_in is for driver pcap, not mem"},
		{"device on pcap", "interfaces:\n  - name: a\n    driver: pcap\n    pcap_in: x\n    device: eth0\n", 5, "device is for driver afxdp/afpacket/tap"},
		{"xdp_mode on afpacket", "interfaces:\n  - name: a\n    driver: afpacket\n    xdp_mode: native\n", 4, "xdp_mode is for driver afxdp"},
		{"bad xdp_mode", "interfaces:\n  - name: a\n    driver: afxdp\n    xdp_mode: offload\n", 4, `"offload" is not one of native, generic`},
		{"rx_ring on afxdp", "interfaces:\n  - name: a\n    driver: afxdp\n    rx_ring: frames\n", 4, "rx_ring is for driver afpacket, not afxdp"},
		{"bad rx_ring", "interfaces:\n  - name: a\n    driver: afpacket\n    rx_ring: v2\n", 4, `"v2" is not one of blocks, frames`},
		{"bad bind_mode", "interfaces:\n  - name: a\n    driver: afxdp\n    bind_mode: fast\n", 4, `"fast" is not one of copy, zerocopy`},
		{"zerocopy memif server", "interfaces:\n  - name: a\n    driver: memif\n    socket: /s\n    bind_mode: zerocopy\n", 5, "a memif server uses its client's memory"},
		{"ring not power of two", "interfaces:\n  - name: a\n    driver: afxdp\n    ring_size: 3000\n", 4, "not a power of two"},
		{"ring too big", "interfaces:\n  - name: a\n    driver: afxdp\n    ring_size: 131072\n", 4, "out of range 64..65536"},
		{"ring on tap", "interfaces:\n  - name: a\n    driver: tap\n    ring_size: 1024\n", 4, "ring_size is for driver afxdp/afpacket/memif, not tap"},
		{"queues zero", "interfaces:\n  - name: a\n    driver: afxdp\n    queues: 0\n", 4, "out of range 1..64"},
		{"bad device", "interfaces:\n  - name: a\n    driver: afxdp\n    device: eth/0\n", 4, "device"},
		{"duplicate device", "interfaces:\n  - {name: a, driver: afxdp, device: eth0}\n  - {name: b, driver: tap, device: eth0}\n", 3, `device "eth0" already used`},
		{"bad netns", "interfaces:\n  - name: a\n    driver: afxdp\n    netns: run/netns/x\n", 4, "absolute path"},
		{"bad match", "interfaces:\n  - name: a\n    driver: afxdp\n    match: src 10.0.0.1\n", 4, `unknown clause "src"`},
		{"match dport without proto", "interfaces:\n  - name: a\n    driver: afxdp\n    match: dport 53\n", 4, "dport needs udp or tcp"},
		{"match ipv6", "interfaces:\n  - name: a\n    driver: afxdp\n    match: dst ::1\n", 4, "not an IPv4 address"},
		{"match on mem", "interfaces:\n  - name: a\n    driver: mem\n    match: all\n", 4, "match is for driver afxdp"},
		{"mac missing value", "interfaces:\n  - name: a\n    driver: mem\n    mac:\n", 4, "value missing"},
		{"route unknown key", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: [10.0.1.2]\n    dev: eth0\n", 9, `unknown key "dev"`},
		{"route missing via", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n", 7, `missing "via"`},
		{"route empty via", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: []\n", 8, "at least one next hop"},
		{"route bad prefix", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/33\n    via: [10.0.1.2]\n", 7, "bad prefix"},
		{"route host bits", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.1.0/16\n    via: [10.0.1.2]\n", 7, "did you mean 10.9.0.0/16"},
		{"route ipv6 via ipv4", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 2001:db8::/32\n    via: [10.0.1.2]\n", 8, "not of the prefix's family"},
		{"route ipv4 via ipv6", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: [\"2001:db8::1\"]\n", 8, "not of the prefix's family"},
		{"route link-local via without interface", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 2001:db8::/32\n    via: [fe80::1]\n", 8, "needs an interface"},
		{"route ipv6 host bits", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 2001:db8::1/32\n    via: [fe80::1]\n    interface: eth0\n", 7, "host bits are set"},
		{"route bad via", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: [10.0.1]\n", 8, "bad address"},
		{"route duplicate via", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: [10.0.1.2, 10.0.1.2]\n", 8, "given twice"},
		{"route unknown interface", "interfaces:\n" + pcapIf + "routes:\n  - prefix: 10.9.0.0/16\n    via: [10.0.1.2]\n    interface: eth9\n", 9, `no interface "eth9"`},
		{"route duplicate", "interfaces:\n" + pcapIf + "routes:\n  - {prefix: 10.9.0.0/16, via: 10.0.1.2}\n  - {prefix: 10.9.0.0/16, via: 10.0.1.3}\n", 8, "already given at line 7"},
		{"neighbor unknown interface", "interfaces:\n" + pcapIf + "neighbors:\n  - interface: eth9\n    ip: 10.0.1.2\n    mac: 02:00:00:00:00:02\n", 7, `no interface "eth9"`},
		{"neighbor missing mac", "interfaces:\n" + pcapIf + "neighbors:\n  - interface: eth0\n    ip: 10.0.1.2\n", 7, `missing "mac"`},
		{"neighbor ipv6 multicast", "interfaces:\n" + pcapIf + "neighbors:\n  - interface: eth0\n    ip: ff02::2\n    mac: 02:00:00:00:00:02\n", 8, "not a unicast host"},
		{"neighbor broadcast mac", "interfaces:\n" + pcapIf + "neighbors:\n  - interface: eth0\n    ip: 10.0.1.2\n    mac: ff:ff:ff:ff:ff:ff\n", 9, "want unicast"},
		{"neighbor duplicate", "interfaces:\n" + pcapIf + "neighbors:\n  - {interface: eth0, ip: 10.0.1.2, mac: 02:00:00:00:00:02}\n  - {interface: eth0, ip: 10.0.1.2, mac: 02:00:00:00:00:03}\n", 8, "already given at line 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *Error", err, err)
			}
			if e.File != "t.yaml" || e.Line != tt.line {
				t.Errorf("first error at %s:%d, want t.yaml:%d: %v", e.File, e.Line, tt.line, err)
			}
			prefix := fmt.Sprintf("t.yaml:%d:", tt.line)
			if tt.line == 0 {
				prefix = "t.yaml: "
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want prefix %q and %q in it", msg, prefix, tt.want)
			}
		})
	}
}

func TestManyErrors(t *testing.T) {
	_, err := Parse("m.yaml", []byte("workers: 0\ninterfaces:\n  - {name: a, driver: x}\n  - {name: b, driver: mem, mtu: 1}\n"))
	var lines []int
	for _, e := range unwrapAll(err) {
		lines = append(lines, e.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 3, 4}) {
		t.Fatalf("errors at lines %v, want [1 3 4]: %v", lines, err)
	}
}

func unwrapAll(err error) []*Error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

func TestParseDualStack(t *testing.T) {
	const y = `interfaces:
  - name: eth0
    driver: mem
    addresses: [10.0.1.1/24, "2001:db8:1::1/64"]
routes:
  - {prefix: "2001:db8:9::/48", via: ["2001:db8:1::2"]}
  - {prefix: "2001:db8:a::/48", via: ["fe80::2"], interface: eth0}
neighbors:
  - {interface: eth0, ip: "2001:db8:1::3", mac: "02:00:00:00:00:03"}
`
	c, err := Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Interfaces[0].Addresses; len(a) != 2 || a[1] != netip.MustParsePrefix("2001:db8:1::1/64") {
		t.Fatalf("addresses %v", a)
	}
	if len(c.Routes) != 2 || c.Routes[1].Via[0] != netip.MustParseAddr("fe80::2") || c.Neighbors[0].IP != netip.MustParseAddr("2001:db8:1::3") {
		t.Fatalf("routes %+v neighbors %+v", c.Routes, c.Neighbors)
	}
}

// TestRxRing: an afpacket interface's rx_ring is parsed, written back by
// Marshal, and empty (the driver's default, blocks) when not given.
func TestRxRing(t *testing.T) {
	c, err := Parse("test.yaml", []byte("interfaces:\n  - name: a\n    driver: afpacket\n    device: eth0\n    rx_ring: frames\n  - name: b\n    driver: afpacket\n    device: eth1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Interfaces[0].RxRing != "frames" || c.Interfaces[1].RxRing != "" {
		t.Fatalf("rx_ring %q, %q; want frames and empty", c.Interfaces[0].RxRing, c.Interfaces[1].RxRing)
	}
	b, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("marshalled.yaml", b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if c2.Interfaces[0].RxRing != "frames" {
		t.Errorf("after Marshal: rx_ring %q, want frames\n%s", c2.Interfaces[0].RxRing, b)
	}
}
