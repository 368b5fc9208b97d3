package wire

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// TestInlining keeps the hot accessors inlinable: it builds the package
// with -gcflags=-m and looks for "can inline" for each of them.
func TestInlining(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go not on PATH in CI: %v", err)
		}
		t.Skip("go not on PATH")
	}
	out, err := exec.Command(gobin, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	want := []string{
		"Ethernet.Dst", "Ethernet.Src", "Ethernet.Type", "Ethernet.SetDst", "Ethernet.SetSrc", "Ethernet.SetType", "Ethernet.Payload", "ParseEthernet",
		"VLAN.ID", "VLAN.Type", "ParseVLAN",
		"ARP.Op", "ARP.SenderMAC", "ARP.SenderIP", "ARP.TargetMAC", "ARP.TargetIP", "ParseARP",
		"IPv4.HeaderLen", "IPv4.TotalLen", "IPv4.ID", "IPv4.Flags", "IPv4.DontFragment", "IPv4.FragOffset", "IPv4.IsFragment",
		"IPv4.TTL", "IPv4.SetTTL", "IPv4.DecTTL", "IPv4.Protocol", "IPv4.Checksum", "IPv4.SetChecksum", "IPv4.ChecksumValid",
		"IPv4.Src", "IPv4.Dst", "IPv4.SrcBits", "IPv4.DstBits", "IPv4.SetSrc", "IPv4.SetDst", "IPv4.Payload", "ParseIPv4",
		"ICMPv4.Type", "ICMPv4.Code", "ICMPv4.SetType", "ICMPv4.Checksum", "ICMPv4.SetChecksum", "ICMPv4.ChecksumValid", "ICMPv4.Payload", "ParseICMPv4",
		"UDP.SrcPort", "UDP.DstPort", "UDP.Length", "UDP.Payload", "ParseUDP",
		"TCP.SrcPort", "TCP.DstPort", "TCP.Seq", "TCP.Ack", "TCP.Flags", "TCP.HeaderLen", "ParseTCP",
		"Checksum", "ChecksumUpdate16",
	}
	for _, fn := range want {
		re := regexp.MustCompile(`(?m): can inline ` + regexp.QuoteMeta(fn) + `( |$)`)
		if !re.Match(out) {
			t.Errorf("%s is not inlinable any more", fn)
		}
	}
}
