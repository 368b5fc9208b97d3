package pcap

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
)

// TestNGWriterTshark writes a pcapng file with two interfaces, directions
// and a comment, and has tshark read it back field by field.
func TestNGWriterTshark(t *testing.T) {
	testutil.RequireTool(t, "tshark")
	path := filepath.Join(t.TempDir(), "x.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	ng, err := NewNGWriter(bw, 64, "vecnet test")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ng.AddInterface("ra")
	b, _ := ng.AddInterface("rb")
	frame := func(proto byte) []byte {
		p := make([]byte, 100) // Ethernet + IPv4 header, rest zero
		copy(p, []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 86, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2})
		return p
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano()
	for _, r := range []struct {
		ifc     int
		dir     int
		comment string
	}{{a, DirInbound, ""}, {b, DirOutbound, ""}, {a, DirInbound, "drop: ip4-input: bad_checksum"}, {b, DirUnknown, "x"}} {
		if err := ng.WritePacket(r.ifc, ts, frame(17), 0, r.dir, r.comment); err != nil {
			t.Fatal(err)
		}
	}
	if err := ng.WritePacket(2, ts, frame(17), 0, DirInbound, ""); err == nil {
		t.Error("a packet for interface id 2 (never added) was written")
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-E", "separator=|",
		"-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.cap_len", "-e", "frame.len",
		"-e", "frame.comment", "-e", "ip.proto", "-e", "frame.time_epoch").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		"ra|0x00000001|64|100||17|1767323045.123456789",
		"rb|0x00000002|64|100||17|1767323045.123456789",
		"ra|0x00000001|64|100|drop: ip4-input: bad_checksum|17|1767323045.123456789",
		"rb||64|100|x|17|1767323045.123456789",
	}
	if len(lines) != len(want) {
		t.Fatalf("tshark read %d packets, want %d:\n%s", len(lines), len(want), out)
	}
	for k := range want {
		if lines[k] != want[k] {
			t.Errorf("packet %d: tshark says %q, want %q", k, lines[k], want[k])
		}
	}
}
