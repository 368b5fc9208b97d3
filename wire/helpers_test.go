package wire

import (
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex written with optional spaces and newlines.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// refSum is the slow reference for Sum: byte by byte, even offsets as the
// high byte of a word, folded with a loop.
func refSum(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	for i, x := range b {
		if i%2 == 0 {
			s += uint64(x) << 8
		} else {
			s += uint64(x)
		}
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint32(s)
}

// refChecksum is the slow reference for Checksum.
func refChecksum(b []byte, initial uint32) uint16 { return ^uint16(refSum(b, initial)) }

// refPseudo is the slow reference for PseudoHeaderSum.
func refPseudo(src, dst [4]byte, proto uint8, length uint16) uint32 {
	b := make([]byte, 0, 12)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, 0, proto, byte(length>>8), byte(length))
	return refSum(b, 0)
}

// zeroed returns a copy of b with b[off:off+2] set to zero.
func zeroed(b []byte, off int) []byte {
	c := append([]byte(nil), b...)
	c[off], c[off+1] = 0, 0
	return c
}
