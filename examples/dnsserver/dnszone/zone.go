package dnszone

// Zone is one compiled authoritative zone. It is immutable after [Load] or
// [Parse] returns and safe for concurrent use by any number of goroutines.
type Zone struct {
	apex  string      // lower-case wire name of the zone apex
	names []nameEntry // every owner name and empty non-terminal
	slots []uint32    // open addressing: index+1 into names, 0 = empty
	mask  uint32      // len(slots)-1

	// nxSOA is the authority section of an NXDOMAIN response: the SOA
	// RR whose owner is a 2-byte compression pointer patched per query to
	// the apex suffix of the question name; its rdata is uncompressed.
	nxSOA []byte
}

// nameEntry holds the precompiled responses for one owner name.
type nameEntry struct {
	name string // lower-case wire name
	hash uint32
	resp [numSlots]response
}

// response is one precompiled response: a full DNS message whose question
// is the lower-cased owner name with the slot's query type, ID 0, flags
// QR|AA|rcode and final section counts.
type response struct {
	b       []byte
	minLen  int // length of b without the additional section (same as len(b) if none)
	outcome uint8
}

// Outcomes of a precompiled response, selecting the Stats counter.
const (
	outAnswer = iota
	outNoData
	outNXDomain
)

// hashName returns the FNV-1a hash of a lower-case wire name.
func hashName(n string) uint32 {
	h := uint32(fnvOffset)
	for i := 0; i < len(n); i++ {
		h ^= uint32(n[i])
		h *= fnvPrime
	}
	return h
}

// buildTable fills slots for z.names.
func (z *Zone) buildTable() {
	size := 8
	for size < 2*len(z.names) {
		size *= 2
	}
	z.slots = make([]uint32, size)
	z.mask = uint32(size - 1)
	for i := range z.names {
		e := &z.names[i]
		e.hash = hashName(e.name)
		for j := e.hash & z.mask; ; j = (j + 1) & z.mask {
			if z.slots[j] == 0 {
				z.slots[j] = uint32(i + 1)
				break
			}
		}
	}
}

// lookup returns the entry whose name equals the wire name n ignoring
// ASCII case, h being the hash of n lower-cased, or nil.
func (z *Zone) lookup(h uint32, n []byte) *nameEntry {
	for j := h & z.mask; ; j = (j + 1) & z.mask {
		s := z.slots[j]
		if s == 0 {
			return nil
		}
		e := &z.names[s-1]
		if e.hash == h && equalFold(e.name, n) {
			return e
		}
	}
}

// equalFold reports whether lower-case name a equals wire bytes b ignoring
// ASCII case.
func equalFold(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if a[i] != lower(b[i]) {
			return false
		}
	}
	return true
}

// Names returns the number of owner names (including empty non-terminals)
// compiled into z.
func (z *Zone) Names() int { return len(z.names) }
