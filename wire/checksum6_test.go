package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// refPseudo6 is the slow reference for the IPv6 pseudo-header (RFC 8200
// section 8.1): source, destination, 32-bit length, three zero bytes and
// the next header.
func refPseudo6(src, dst [16]byte, next uint8, length uint32) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	b = binary.BigEndian.AppendUint32(b, length)
	return append(b, 0, 0, 0, next)
}

// TestChecksum6: UDP and TCP checksums over the IPv6 pseudo-header agree
// with a byte-at-a-time reference for random segments; ChecksumValid6
// accepts what ComputeChecksum6 wrote and rejects a flipped bit; a zero
// UDP checksum is invalid over IPv6.
func TestChecksum6(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for k := 0; k < 200; k++ {
		var src, dst [16]byte
		for i := range src {
			src[i], dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		n := 20 + r.IntN(1400)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		u := UDP(b)
		binary.BigEndian.PutUint16(b[4:], uint16(n))
		want := refChecksum(zeroed(b, 6), refSum(refPseudo6(src, dst, IPProtoUDP, uint32(n)), 0))
		if want == 0 {
			want = 0xffff
		}
		if got := u.ComputeChecksum6(src, dst); got != want {
			t.Fatalf("UDP len %d: %#04x, reference %#04x", n, got, want)
		}
		u.SetChecksum(want)
		if !u.ChecksumValid6(src, dst) {
			t.Fatal("UDP: own checksum does not verify")
		}
		b[n-1] ^= 1
		if u.ChecksumValid6(src, dst) {
			t.Fatal("UDP: flipped bit verifies")
		}
		u.SetChecksum(0)
		if u.ChecksumValid6(src, dst) {
			t.Fatal("UDP: zero checksum accepted over IPv6")
		}
		tc := TCP(b)
		want = refChecksum(zeroed(b, 16), refSum(refPseudo6(src, dst, IPProtoTCP, uint32(n)), 0))
		if got := tc.ComputeChecksum6(src, dst, uint16(n)); got != want {
			t.Fatalf("TCP len %d: %#04x, reference %#04x", n, got, want)
		}
		tc.SetChecksum(want)
		if !tc.ChecksumValid6(src, dst, uint16(n)) {
			t.Fatal("TCP: own checksum does not verify")
		}
	}
}
