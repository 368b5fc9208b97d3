package wire

import "testing"

func TestICMPv4FragNeeded(t *testing.T) {
	// Destination unreachable, fragmentation needed, next-hop MTU 1400,
	// quoting a 20-byte header and 8 bytes.
	b := make([]byte, ICMPv4MinLen+28)
	ic, ok := ParseICMPv4(b)
	if !ok {
		t.Fatal("ParseICMPv4 rejected 36 bytes")
	}
	ic.SetType(ICMPv4DestUnreachable)
	ic.SetCode(ICMPv4FragNeeded)
	ic.SetID(0)
	ic.SetMTU(1400)
	copy(ic.Payload(), unhex(t, wikiIPv4))
	ic.SetChecksum(ic.ComputeChecksum())
	want := unhex(t, "0304 0000 0000 0578")
	got := append([]byte(nil), b[:8]...)
	got[2], got[3] = 0, 0
	if string(got) != string(want) {
		t.Errorf("header: got % x want % x", got, want)
	}
	if ic.MTU() != 1400 || ic.Seq() != 1400 || !ic.ChecksumValid() || ic.Checksum() != refChecksum(zeroed(b, 2), 0) {
		t.Errorf("mtu %d valid %v", ic.MTU(), ic.ChecksumValid())
	}
	if _, ok := ParseICMPv4(b[:7]); ok {
		t.Error("ParseICMPv4 accepted 7 bytes")
	}
}
