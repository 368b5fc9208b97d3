package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Fuzz targets, one per parser. Each checks that Parse accepts exactly
// what a slow reference accepts, that every accessor stays in bounds on an
// accepted view, that re-encoding the parsed fields reproduces the header,
// and that checksums agree with the byte-by-byte reference.

// seedFrames returns real and hand-written packets used as seeds.
func seedFrames(t testing.TB) (ping, reply, arp, udp, tcp []byte) {
	return unhex(t, pingRequestFrame), unhex(t, pingReplyFrame),
		unhex(t, "0001 0800 06 04 0001 525400123456 c0a80164 000000000000 c0a80101"),
		unhex(t, udpDNSQuery), unhex(t, tcpSYN)
}

func FuzzEthernet(f *testing.F) {
	ping, _, arp, _, _ := seedFrames(f)
	f.Add(ping)                                                       // real ping on lo
	f.Add(append(unhex(f, "ffffffffffff 525400123456 0806"), arp...)) // ARP request
	f.Add(unhex(f, "020000000a01 020000000a02 8100 b064 0800 4500"))  // VLAN-tagged
	f.Add(unhex(f, "020000000a01 020000000a02 8100 b0"))              // truncated tag
	f.Add([]byte{1, 2, 3})                                            // short
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := ParseEthernet(b)
		if ok != (len(b) >= EthernetLen) {
			t.Fatalf("ok %v for len %d", ok, len(b))
		}
		if !ok {
			return
		}
		if e.Dst() != MAC(b[0:6]) || e.Src() != MAC(b[6:12]) || e.Type() != EtherType(binary.BigEndian.Uint16(b[12:])) || len(e.Payload()) != len(b)-14 {
			t.Fatal("accessor disagrees with raw bytes")
		}
		out := Ethernet(make([]byte, EthernetLen))
		out.SetDst(e.Dst())
		out.SetSrc(e.Src())
		out.SetType(e.Type())
		if !bytes.Equal(out, b[:EthernetLen]) {
			t.Fatalf("re-encode: % x != % x", []byte(out), b[:EthernetLen])
		}
		v, ok := ParseVLAN(e.Payload())
		if ok != (len(b) >= EthernetLen+VLANLen) {
			t.Fatalf("ParseVLAN ok %v for len %d", ok, len(b))
		}
		if !ok {
			return
		}
		tci := binary.BigEndian.Uint16(b[14:])
		if v.ID() != tci&0xfff || v.PCP() != uint8(tci>>13) || v.DEI() != (tci&0x1000 != 0) || v.Type() != EtherType(binary.BigEndian.Uint16(b[16:])) {
			t.Fatal("VLAN accessor disagrees with raw bytes")
		}
		w := VLAN(make([]byte, VLANLen))
		w.SetType(v.Type())
		w.SetID(v.ID())
		w.SetDEI(v.DEI())
		w.SetPCP(v.PCP())
		if !bytes.Equal(w, b[14:18]) || len(v.Payload()) != len(b)-18 {
			t.Fatalf("VLAN re-encode: % x != % x", []byte(w), b[14:18])
		}
	})
}

func FuzzARP(f *testing.F) {
	_, _, arp, _, _ := seedFrames(f)
	f.Add(arp)                                                      // request
	f.Add(append(append([]byte(nil), arp...), make([]byte, 18)...)) // with Ethernet padding
	bad := append([]byte(nil), arp...)
	bad[4] = 8
	f.Add(bad)      // wrong hardware length
	f.Add(arp[:27]) // truncated
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := ParseARP(b)
		want := len(b) >= 28 && b[0] == 0 && b[1] == 1 && b[2] == 8 && b[3] == 0 && b[4] == 6 && b[5] == 4
		if ok != want {
			t.Fatalf("ok %v, reference %v", ok, want)
		}
		if !ok {
			return
		}
		if len(a) != ARPLen {
			t.Fatalf("len %d", len(a))
		}
		out := ARP(make([]byte, ARPLen))
		out.Encode(&ARPFields{Op: a.Op(), SenderMAC: a.SenderMAC(), SenderIP: a.SenderIP(), TargetMAC: a.TargetMAC(), TargetIP: a.TargetIP()})
		if !bytes.Equal(out, b[:ARPLen]) {
			t.Fatalf("re-encode: % x != % x", []byte(out), b[:ARPLen])
		}
	})
}

// refParseIPv4 is the reference for ParseIPv4's checks, written plainly.
func refParseIPv4(b []byte) (int, IPv4Error) {
	switch {
	case len(b) < 20:
		return 0, IPv4TooShort
	case b[0]>>4 != 4:
		return 0, IPv4BadVersion
	case int(b[0]&15)*4 < 20 || int(b[0]&15)*4 > len(b):
		return 0, IPv4BadIHL
	}
	tl := int(b[2])<<8 | int(b[3])
	if tl < int(b[0]&15)*4 || tl > len(b) {
		return 0, IPv4BadLength
	}
	return tl, IPv4OK
}

func FuzzIPv4(f *testing.F) {
	ping, reply, _, _, _ := seedFrames(f)
	f.Add(ping[EthernetLen:])                  // real echo request
	f.Add(reply[EthernetLen:])                 // real echo reply
	f.Add(unhex(f, wikiIPv4))                  // lone header, total length beyond it
	f.Add(append(ping[EthernetLen:], 0, 0, 0)) // with link padding
	opt := make([]byte, 28)
	IPv4(opt).Encode(&IPv4Fields{TotalLen: 28, Flags: IPv4FlagMF, FragOffset: 7, TTL: 1, Protocol: IPProtoUDP})
	opt[0] = 0x46
	f.Add(opt)                                  // with one option word, a fragment
	f.Add(unhex(f, "4f00 0014 0000 0000 4001")) // IHL beyond buffer
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, e := ParseIPv4(b)
		tl, want := refParseIPv4(b)
		if e != want {
			t.Fatalf("error %v, reference %v", e, want)
		}
		if e != IPv4OK {
			return
		}
		if len(ip) != tl || int(ip.TotalLen()) != tl || ip.HeaderLen() > len(ip) {
			t.Fatalf("view len %d, total %d, header %d", len(ip), tl, ip.HeaderLen())
		}
		hl := ip.HeaderLen()
		if len(ip.Options()) != hl-20 || len(ip.Payload()) != tl-hl || ip.Src() != [4]byte(b[12:16]) || ip.Dst() != [4]byte(b[16:20]) {
			t.Fatal("options/payload/address accessors wrong")
		}
		ref := refChecksum(zeroed(b[:hl], 10), 0)
		if ip.ComputeChecksum() != ref {
			t.Fatalf("ComputeChecksum %#04x, reference %#04x", ip.ComputeChecksum(), ref)
		}
		if ip.ChecksumValid() != (refSum(b[:hl], 0) == 0xffff) {
			t.Fatal("ChecksumValid disagrees with reference")
		}
		if hl == IPv4MinLen {
			out := IPv4(make([]byte, IPv4MinLen))
			out.Encode(&IPv4Fields{TOS: ip.TOS(), TotalLen: ip.TotalLen(), ID: ip.ID(), Flags: ip.Flags(), FragOffset: ip.FragOffset(),
				TTL: ip.TTL(), Protocol: ip.Protocol(), Src: ip.Src(), Dst: ip.Dst()})
			if !bytes.Equal(zeroed(out, 10), zeroed(b[:20], 10)) || out.Checksum() != ref {
				t.Fatalf("re-encode:\n got % x\nwant % x", []byte(out), b[:20])
			}
			// A valid checksum written in its usual form is reproduced exactly.
			if ip.ChecksumValid() && ip.Checksum() != 0xffff && !bytes.Equal(out, b[:20]) {
				t.Fatalf("re-encode of a valid header differs")
			}
		}
		c := IPv4(append([]byte(nil), ip...))
		c.SetChecksum(c.ComputeChecksum())
		ttl := c.TTL()
		c.DecTTL()
		if c.TTL() != ttl-1 || !c.ChecksumValid() || c.Checksum() != c.ComputeChecksum() {
			t.Fatalf("DecTTL: ttl %d->%d valid %v", ttl, c.TTL(), c.ChecksumValid())
		}
	})
}

func FuzzICMPv4(f *testing.F) {
	ping, reply, _, _, _ := seedFrames(f)
	f.Add(ping[EthernetLen+20:])              // real echo request
	f.Add(reply[EthernetLen+20:])             // real echo reply
	f.Add(unhex(f, "0304 0000 0000 0578 45")) // frag needed, odd length
	f.Add([]byte{8, 0, 0})                    // truncated
	f.Fuzz(func(t *testing.T, b []byte) {
		ic, ok := ParseICMPv4(b)
		if ok != (len(b) >= 8) {
			t.Fatalf("ok %v for len %d", ok, len(b))
		}
		if !ok {
			return
		}
		if ic.Type() != b[0] || ic.Code() != b[1] || ic.ID() != binary.BigEndian.Uint16(b[4:]) || ic.Seq() != ic.MTU() || len(ic.Payload()) != len(b)-8 {
			t.Fatal("accessor disagrees with raw bytes")
		}
		ref := refChecksum(zeroed(b, 2), 0)
		if ic.ComputeChecksum() != ref || ic.ChecksumValid() != (refSum(b, 0) == 0xffff) {
			t.Fatalf("checksum %#04x, reference %#04x", ic.ComputeChecksum(), ref)
		}
		c := ICMPv4(append([]byte(nil), b...))
		c.SetChecksum(c.ComputeChecksum())
		if !c.ChecksumValid() {
			t.Fatal("not valid after SetChecksum(ComputeChecksum())")
		}
		// Echo to echo-reply with the incremental update stays valid.
		old := uint16(c.Type())<<8 | uint16(c.Code())
		c.SetType(ICMPv4EchoReply)
		c.SetChecksum(ChecksumUpdate16(c.Checksum(), old, uint16(c.Code())))
		if !c.ChecksumValid() {
			t.Fatal("not valid after incremental type change")
		}
	})
}

func FuzzUDP(f *testing.F) {
	_, _, _, udp, _ := seedFrames(f)
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	f.Add(udp, src[:], dst[:])                             // DNS query
	f.Add(append(udp, 1, 2, 3), src[:], dst[:])            // trailing bytes
	f.Add(unhex(f, "0001 0002 0008 0000"), dst[:], src[:]) // empty, no checksum
	f.Add(unhex(f, "0001 0002 0007 0000"), dst[:], src[:]) // length below header
	f.Fuzz(func(t *testing.T, b, s, d []byte) {
		if len(s) < 4 || len(d) < 4 {
			return
		}
		src, dst := [4]byte(s), [4]byte(d)
		u, ok := ParseUDP(b)
		want := len(b) >= 8 && int(binary.BigEndian.Uint16(b[4:])) >= 8 && int(binary.BigEndian.Uint16(b[4:])) <= len(b)
		if ok != want {
			t.Fatalf("ok %v, reference %v", ok, want)
		}
		if !ok {
			return
		}
		n := int(u.Length())
		if len(u) != n || len(u.Payload()) != n-8 {
			t.Fatalf("view %d payload %d length %d", len(u), len(u.Payload()), n)
		}
		ref := refChecksum(zeroed(b[:n], 6), refPseudo(src, dst, IPProtoUDP, uint16(n)))
		if ref == 0 {
			ref = 0xffff
		}
		if u.ComputeChecksum(src, dst) != ref {
			t.Fatalf("ComputeChecksum %#04x, reference %#04x", u.ComputeChecksum(src, dst), ref)
		}
		validRef := u.Checksum() == 0 || refSum(b[:n], refPseudo(src, dst, IPProtoUDP, uint16(n))) == 0xffff
		if u.ChecksumValid(src, dst) != validRef {
			t.Fatal("ChecksumValid disagrees with reference")
		}
		out := UDP(make([]byte, UDPLen))
		out.Encode(&UDPFields{SrcPort: u.SrcPort(), DstPort: u.DstPort(), Length: u.Length()})
		if !bytes.Equal(out, zeroed(b[:8], 6)) {
			t.Fatalf("re-encode: % x != % x", []byte(out), b[:8])
		}
		c := UDP(append([]byte(nil), u...))
		c.SetChecksum(c.ComputeChecksum(src, dst))
		if !c.ChecksumValid(src, dst) {
			t.Fatal("not valid after SetChecksum(ComputeChecksum())")
		}
	})
}

func FuzzTCP(f *testing.F) {
	_, _, _, _, tcp := seedFrames(f)
	src, dst := [4]byte{192, 168, 1, 100}, [4]byte{192, 168, 1, 1}
	f.Add(tcp, src[:], dst[:])                     // SYN with options
	f.Add(append(tcp, "GET /"...), src[:], dst[:]) // with data
	f.Add(tcp[:36], src[:], dst[:])                // options cut
	f.Fuzz(func(t *testing.T, b, s, d []byte) {
		if len(s) < 4 || len(d) < 4 {
			return
		}
		src, dst := [4]byte(s), [4]byte(d)
		tc, ok := ParseTCP(b)
		want := len(b) >= 20 && int(b[12]>>4) >= 5 && int(b[12]>>4)*4 <= len(b)
		if ok != want {
			t.Fatalf("ok %v, reference %v", ok, want)
		}
		if !ok || len(b) > 0xffff {
			return
		}
		hl := tc.HeaderLen()
		if len(tc.Options()) != hl-20 || len(tc.Payload()) != len(b)-hl || tc.Seq() != binary.BigEndian.Uint32(b[4:]) || tc.Ack() != binary.BigEndian.Uint32(b[8:]) {
			t.Fatal("accessor disagrees with raw bytes")
		}
		n := uint16(len(b))
		ref := refChecksum(zeroed(b, 16), refPseudo(src, dst, IPProtoTCP, n))
		if tc.ComputeChecksum(src, dst, n) != ref || tc.ChecksumValid(src, dst, n) != (refSum(b, refPseudo(src, dst, IPProtoTCP, n)) == 0xffff) {
			t.Fatalf("ComputeChecksum %#04x, reference %#04x", tc.ComputeChecksum(src, dst, n), ref)
		}
		out := TCP(make([]byte, TCPMinLen))
		out.Encode(&TCPFields{SrcPort: tc.SrcPort(), DstPort: tc.DstPort(), Seq: tc.Seq(), Ack: tc.Ack(), DataOffset: tc.DataOffset(),
			Flags: tc.Flags(), Window: tc.Window(), Urgent: tc.Urgent()})
		w := zeroed(b[:20], 16)
		w[12] &= 0xf0 // Encode writes the reserved bits as zero
		if !bytes.Equal(out, w) {
			t.Fatalf("re-encode: % x != % x", []byte(out), w)
		}
	})
}

// FuzzChecksum checks Sum against the reference for any bytes and split.
func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint32(0), uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff}, uint32(0xffffffff), uint8(2))
	f.Add(bytes.Repeat([]byte{0xff}, 67), uint32(1), uint8(33))
	f.Fuzz(func(t *testing.T, b []byte, init uint32, cut uint8) {
		if got, want := Sum(b, init), refSum(b, init); got != want {
			t.Fatalf("Sum %#x, reference %#x", got, want)
		}
		k := int(cut) &^ 1
		if k > len(b) {
			return
		}
		if got, want := Sum(b[k:], Sum(b[:k], init)), refSum(b, init); got != want {
			t.Fatalf("chained Sum %#x, reference %#x", got, want)
		}
	})
}

// FuzzIPv6 feeds any bytes to ParseIPv6, the extension header walk and
// the partial checksum completion: none may panic or read outside the
// packet, and a walk that succeeds stays inside it.
func FuzzIPv6(f *testing.F) {
	f.Add([]byte(udp6(8)))
	f.Add([]byte(udp6(0)[:IPv6Len]))
	hbh := make([]byte, IPv6Len+16)
	IPv6(hbh).Encode(&IPv6Fields{PayloadLen: 16, NextHeader: IPProtoHopByHop})
	hbh[IPv6Len], hbh[IPv6Len+1] = IPProtoFragment, 0
	hbh[IPv6Len+8] = IPProtoUDP
	f.Add(hbh)
	rh := make([]byte, IPv6Len+24)
	IPv6(rh).Encode(&IPv6Fields{PayloadLen: 24, NextHeader: IPProtoRouting})
	rh[IPv6Len], rh[IPv6Len+1], rh[IPv6Len+3] = IPProtoNoNext, 2, 1
	f.Add(rh)
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, e := ParseIPv6(b)
		if e != IPv6OK {
			return
		}
		if len(ip) != IPv6Len+int(ip.PayloadLen()) || len(ip) > len(b) {
			t.Fatalf("view of %d bytes, payload length %d, input %d", len(ip), ip.PayloadLen(), len(b))
		}
		_, _, _ = ip.Src(), ip.Dst(), ip.HopLimit()
		w, we := ip.WalkExtensions(8, 512)
		if we == ExtOK && (w.Off > len(ip) || w.Count > 8 || w.Off-IPv6Len > 512) {
			t.Fatalf("walk outside the bounds: %+v of %d bytes", w, len(ip))
		}
		if we == ExtOK {
			c := append([]byte(nil), ip...)
			IPv6(c).CompletePartialL4Checksum(w.Proto, w.Off)
		}
	})
}

// FuzzNDOptions feeds any bytes to ParseNDOptions: it must not panic, and
// a link-layer address it returns comes from an 8-byte option.
func FuzzNDOptions(f *testing.F) {
	f.Add([]byte{NDOptSourceLinkAddr, 1, 2, 0, 0, 0, 0, 1})
	f.Add([]byte{NDOptTargetLinkAddr, 1, 2, 0, 0, 0, 0, 1, 5, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{NDOptSourceLinkAddr, 0})
	f.Add([]byte{3, 4, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, want := range []uint8{NDOptSourceLinkAddr, NDOptTargetLinkAddr} {
			o, e := ParseNDOptions(b, want)
			if e == NDOptOK && o.HasLinkAddr {
				found := false
				for r := b; len(r) >= 8; r = r[int(r[1])*8:] {
					if r[0] == want && r[1] == 1 && MAC(r[2:8]) == o.LinkAddr {
						found = true
					}
					if r[1] == 0 || int(r[1])*8 > len(r) {
						break
					}
				}
				if !found {
					t.Fatalf("link address %v not from an 8-byte option in % x", o.LinkAddr, b)
				}
			}
		}
	})
}
