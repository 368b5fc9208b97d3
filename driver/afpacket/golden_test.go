package afpacket

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
)

// TestSegmentMatchesKernelGSO is the golden comparison: the same TCPv4
// super-frames are segmented by the kernel's own software GSO (handed to a
// veth whose TSO and checksum offload are off: this test's one "offloads
// off" end, so the kernel segments and sums before the wire) and by
// offload.Segment, and the frames must be identical byte for byte. The
// cases cover FIN/PSH/CWR placement, a short last segment and TCP options.
func TestSegmentMatchesKernelGSO(t *testing.T) {
	testutil.RequireTool(t, "ethtool")
	nsA := testutil.NewNS(t, "gsa")
	nsB := testutil.NewNS(t, "gsb")
	a, b := testutil.Name("gsa"), testutil.Name("gsb")
	testutil.Veth(t, nsA, a, nsB, b)
	nsB.Run("ethtool", "-K", b, "tx", "off", "tso", "off", "gso", "on")
	open := func(ns *testutil.NS, dev string, vnet bool) (fd, ifindex int) {
		if err := ns.Do(func() error {
			ifi, err := net.InterfaceByName(dev)
			if err != nil {
				return err
			}
			ifindex = ifi.Index
			fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
			if err != nil {
				return err
			}
			if vnet {
				if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
					return err
				}
			}
			tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd, ifindex
	}
	tx, _ := open(nsB, b, true)
	rx, _ := open(nsA, a, false)

	arena, err := pkt.NewArena(256)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arena.Close() })
	c := pkt.NewPool(arena).NewCache()

	for _, tc := range []struct {
		name    string
		payload int
		mss     int
		flags   uint8
		opts    int
	}{
		{"psh fin cwr, short last", 10000, 1448, 0x18 | 0x01 | 0x80, 12},
		{"exact multiple", 4 * 1460, 1460, 0x18, 0},
		{"odd mss", 5001, 999, 0x10 | 0x80, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tcpSuperFrame([6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0xb}, tc.payload)
			if tc.opts > 0 { // insert NOP options after the fixed TCP header
				g := make([]byte, len(f)+tc.opts)
				copy(g, f[:54])
				for k := range tc.opts {
					g[54+k] = 1
				}
				copy(g[54+tc.opts:], f[54:])
				f = g
				binary.BigEndian.PutUint16(f[16:], uint16(len(f)-14))
				f[24], f[25] = 0, 0
				binary.BigEndian.PutUint16(f[24:], ipChecksum(f[14:34]))
				f[46] = byte((20+tc.opts)/4) << 4
				binary.BigEndian.PutUint16(f[50:], pseudoSum(f))
			}
			f[47] = tc.flags
			binary.BigEndian.PutUint16(f[18:], 0x1234) // IP ID
			f[24], f[25] = 0, 0
			binary.BigEndian.PutUint16(f[24:], ipChecksum(f[14:34]))
			hl := 54 + tc.opts
			h := offload.VnetHdr{Flags: offload.VnetNeedsCsum, GSOType: offload.GSOTCPv4, HdrLen: uint16(hl),
				GSOSize: uint16(tc.mss), CsumStart: 34, CsumOffset: 16}
			msg := make([]byte, offload.VnetHdrLen+len(f))
			h.Put(msg)
			copy(msg[offload.VnetHdrLen:], f)
			if _, err := unix.Write(tx, msg); err != nil {
				t.Fatal(err)
			}
			var v pkt.Vector
			n, e := offload.Segment(c, &v, f, offload.KindTCP, tc.mss)
			if e != offload.OK {
				t.Fatal(e)
			}
			defer c.FreeN(v.Slice())
			buf := make([]byte, 1<<16)
			got := 0
			for got < n {
				k, err := unix.Read(rx, buf)
				if err != nil {
					t.Fatalf("kernel gave %d of %d segments: %v", got, n, err)
				}
				if k < 14 || !bytes.Equal(buf[:12], f[:12]) {
					continue // the link's own frames
				}
				want := arena.Data(v.Idx[got])
				if !bytes.Equal(buf[:k], want) {
					t.Fatalf("segment %d differs from the kernel's:\nkernel %x\nours   %x", got, buf[:min(k, 80)], want[:min(len(want), 80)])
				}
				got++
			}
		})
	}
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for k := 0; k < len(h); k += 2 {
		s += uint32(h[k])<<8 | uint32(h[k+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudoSum is the partial TCP checksum of an untagged Ethernet/IPv4/TCP frame.
func pseudoSum(f []byte) uint16 {
	var s uint32
	for k := 26; k < 34; k += 2 {
		s += uint32(f[k])<<8 | uint32(f[k+1])
	}
	s += 6 + uint32(len(f)-34)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
