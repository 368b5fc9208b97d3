package tcp

import (
	"crypto/sha256"
	"encoding/binary"
)

// isnHash returns F(localip, localport, remoteip, remoteport, secretkey)
// of RFC 6528 (SHA-256 keyed by the engine's secret), salted with extra
// (0 for ISNs, the time slot for SYN cookies).
func (e *Engine) isnHash(k *connKey, extra uint32) uint32 {
	var b [16 + 36 + 4]byte
	copy(b[:16], e.secret[:])
	copy(b[16:32], k.local[:])
	copy(b[32:48], k.remote[:])
	binary.BigEndian.PutUint16(b[48:], k.lport)
	binary.BigEndian.PutUint16(b[50:], k.rport)
	binary.BigEndian.PutUint32(b[52:], extra)
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:])
}

// isn returns the initial sequence number for k by RFC 6528: a 4 µs clock
// plus the keyed hash of the 4-tuple, so that a new incarnation of a
// tuple starts above the old one and off-path hosts cannot guess it.
func (e *Engine) isn(k *connKey, now int64) Seq {
	return Seq(uint32(now/4000) + e.isnHash(k, 0))
}
