package daemon_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
)

// tsharkFields reads a capture file with tshark and returns one row of
// fields per packet.
func tsharkFields(t *testing.T, file string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-r", file, "-T", "fields", "-E", "separator=|"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, out)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "|"))
		}
	}
	return rows
}

// TestPcapTraceRouter captures rx, tx and drops on the router while host A
// pings host B and an address with no route, then reads the pcapng file
// back with tshark: the echoes on both interfaces in both directions, the
// drops with their node and reason; then a capture of one interface's rx
// stops at max N.
func TestPcapTraceRouter(t *testing.T) {
	testutil.RequireTool(t, "tshark")
	rig, d := rigRouter(t, topo.RigOptions{Prefix: "vnpc"}, "afpacket", "", nil, daemon.Options{NoCLI: true, XDPWatch: -1})
	dir := t.TempDir()
	file := filepath.Join(dir, "all.pcapng")
	show(t, d, "pcap trace rx tx drop max 1000 file "+file)
	if out, err := rig.A.Run("ping", "-c", "5", "-i", "0.2", "-W", "2", topo.HostBAddr); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	// Two echo requests to the limited broadcast: ip4-input drops them
	// (no answer, so ping's status is not looked at).
	rig.A.Run("ping", "-b", "-c", "2", "-i", "0.2", "-W", "1", "255.255.255.255")
	if st := show(t, d, "show pcap"); !strings.Contains(st, "capturing rx tx drop on every interface") {
		t.Errorf("show pcap while capturing:\n%s", st)
	}
	sum := show(t, d, "pcap trace off")
	t.Logf("%s", sum)
	rows := tsharkFields(t, file, "frame.interface_name", "frame.packet_flags_direction", "icmp.type", "ip.src", "ip.dst", "frame.comment")
	count := map[string]int{}
	for _, r := range rows {
		ifc, dirn, icmp, comment := r[0], r[1], r[2], r[5]
		if comment != "" {
			if !strings.HasPrefix(comment, "drop: ") {
				t.Errorf("comment %q on a packet, want only drops with \"drop: node: reason\"", comment)
			}
			count[comment+" to "+r[4]]++
			continue
		}
		if (icmp == "8" && r[4] == topo.HostBAddr) || (icmp == "0" && r[4] == topo.HostAAddr) {
			count[ifc+" "+dirn+" icmp "+icmp]++
		}
	}
	t.Logf("%d packets: %v", len(rows), count)
	for key, want := range map[string]int{
		"ra 0x00000001 icmp 8":                          5, // request in from A (and 2 to the broadcast, not counted)
		"rb 0x00000002 icmp 8":                          5, // forwarded out to B
		"rb 0x00000001 icmp 0":                          5, // reply in from B
		"ra 0x00000002 icmp 0":                          5, // forwarded out to A
		"drop: ip4-input: broadcast to 255.255.255.255": 2,
	} {
		if count[key] != want {
			t.Errorf("%s: %d packets, want %d", key, count[key], want)
		}
	}

	// Only interface rb's receive side, at most 4 packets.
	file2 := filepath.Join(dir, "rb.pcapng")
	show(t, d, "pcap trace rx interface rb max 4 file "+file2)
	if out, err := rig.A.Run("ping", "-c", "8", "-i", "0.1", "-W", "2", topo.HostBAddr); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	show(t, d, "pcap trace off")
	rows = tsharkFields(t, file2, "frame.interface_name", "frame.packet_flags_direction")
	if len(rows) != 4 {
		t.Errorf("max 4: tshark read %d packets", len(rows))
	}
	for _, r := range rows {
		if r[0] != "rb" || r[1] != "0x00000001" {
			t.Errorf("interface rb rx: a packet on %s direction %s", r[0], r[1])
		}
	}
}
