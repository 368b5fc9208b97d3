package driver

// Ports returns the concrete ports of an interface as driver.Ports, port q
// for worker q: the shape every kernel driver's Interface.Ports returns.
func Ports[P Port](ps []P) []Port {
	out := make([]Port, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// DeriveMAC makes a locally administered unicast address that differs from
// a kernel device's dev, for the data plane to use as its own on that link:
// frames addressed to it are then not also taken up by the kernel's stack.
func DeriveMAC(dev [6]byte) [6]byte {
	m := dev
	m[0] = m[0]&^0x01 | 0x02
	m[5] ^= 0x5a
	return m
}
