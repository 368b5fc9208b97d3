package dnszone

// Stats counts the outcome of every query given to [Zone.Answer]: each call
// increments Queries and exactly one other counter, so Queries always
// equals [Stats.Outcomes]. A Stats is owned by one goroutine (one worker);
// sum them with [Stats.Add] when reading. It is not safe for concurrent use.
type Stats struct {
	Queries         uint64 // calls to Answer
	Answers         uint64 // NOERROR with at least one answer record
	NoData          uint64 // NOERROR, name exists, no record of that type
	NXDomain        uint64 // NXDOMAIN (name or CNAME target missing)
	Truncated       uint64 // TC set: header + question only
	Refused         uint64 // name outside the zone, or class not IN/ANY
	NotImp          uint64 // opcode != QUERY, class ANY, qtype ANY/AXFR/IXFR/MAILA/MAILB
	BadVers         uint64 // EDNS version > 0
	FormErr         uint64 // malformed query answered with FORMERR
	DroppedShort    uint64 // shorter than a 12-byte header: no reply
	DroppedResponse uint64 // QR bit set: no reply
	DroppedNoSpace  uint64 // out too small even for the truncated reply
}

// StatInfo names and describes one [Stats] counter, VPP style.
type StatInfo struct {
	Name string
	Help string
}

// StatInfos lists the counters in the order [Stats.Values] returns them.
var StatInfos = [...]StatInfo{
	{"queries", "queries received"},
	{"answers", "NOERROR responses with answers"},
	{"nodata", "NOERROR responses without answers (NODATA)"},
	{"nxdomain", "NXDOMAIN responses"},
	{"truncated", "responses truncated to header + question (TC)"},
	{"refused", "REFUSED: out of zone or class not IN"},
	{"notimp", "NOTIMP: opcode, class ANY or unsupported qtype"},
	{"badvers", "BADVERS: EDNS version > 0"},
	{"formerr", "FORMERR: malformed query"},
	{"dropped_short", "dropped: shorter than a DNS header"},
	{"dropped_response", "dropped: QR bit set"},
	{"dropped_nospace", "dropped: output buffer too small"},
}

// Values returns the counters in [StatInfos] order.
func (s *Stats) Values() [len(StatInfos)]uint64 {
	return [...]uint64{s.Queries, s.Answers, s.NoData, s.NXDomain, s.Truncated,
		s.Refused, s.NotImp, s.BadVers, s.FormErr, s.DroppedShort,
		s.DroppedResponse, s.DroppedNoSpace}
}

// Outcomes returns the sum of all counters except Queries; it equals
// Queries when every query was accounted for.
func (s *Stats) Outcomes() uint64 {
	v := s.Values()
	var n uint64
	for _, x := range v[1:] {
		n += x
	}
	return n
}

// Add adds every counter of o to s.
func (s *Stats) Add(o *Stats) {
	s.Queries += o.Queries
	s.Answers += o.Answers
	s.NoData += o.NoData
	s.NXDomain += o.NXDomain
	s.Truncated += o.Truncated
	s.Refused += o.Refused
	s.NotImp += o.NotImp
	s.BadVers += o.BadVers
	s.FormErr += o.FormErr
	s.DroppedShort += o.DroppedShort
	s.DroppedResponse += o.DroppedResponse
	s.DroppedNoSpace += o.DroppedNoSpace
}
