// Package dnszone answers DNS queries for one authoritative zone from a
// table of responses compiled ahead of time.
//
// # Mechanism
//
// [Load] or [Parse] reads an RFC 1035 master file (the only code that uses
// github.com/miekg/dns is the loader) and compiles it, once, into an
// immutable [Zone]. For every owner name in the zone, and for each of the
// query types A, NS, CNAME, SOA, MX, TXT, AAAA plus one "any other type"
// slot, the compiler encodes the complete response: header template,
// question (lower-cased owner name at offset 12), answer, authority and
// additional sections, with every name compressed against the question
// name. Negative answers (NODATA, NXDOMAIN) carry the SOA in the authority
// section with TTL min(SOA TTL, SOA MINIMUM) (RFC 2308).
//
// Answering a query ([Zone.Answer]) is: validate the header and parse the
// question in place, hashing the lower-cased name with FNV-1a; one probe
// sequence in an open-addressing table; copy the query's question (so its
// 0x20 mixed case is echoed, and compressed names in the answer that point
// into it echo that case too) and the precomputed sections; patch ID and
// flags (RD and CD copied from the query); append an OPT record when the
// query had one. Nothing is allocated and no lock is taken: a Zone is
// read-only after compilation and may be shared by any number of
// goroutines, each with its own [Stats].
//
// # Policy
//
//   - Out-of-zone names: REFUSED. Names under the apex that do not exist:
//     NXDOMAIN + SOA. Empty non-terminals and names without the asked type:
//     NODATA (NOERROR, no answer) + SOA. Authoritative answers set AA.
//   - CNAME: answered at the name for every type; an in-zone target is
//     chased (up to 8 links) and its records of the asked type appended; a
//     chase ending at a missing in-zone name gives NXDOMAIN (RFC 6604).
//   - NS and MX answers carry in-zone A/AAAA for their targets in the
//     additional section. If the full response does not fit but the
//     response without additional records does, the latter is sent without
//     TC (RFC 2181 9); otherwise only header + question with TC set.
//   - Size limit: 512 bytes without EDNS, the query's advertised UDP size
//     (at least 512) with EDNS, and never more than len(out). EDNS replies
//     carry an OPT with payload size 1232, version 0 and the query's DO bit.
//     EDNS version > 0: BADVERS.
//   - Class: IN only. Class ANY gets NOTIMP, other classes REFUSED. Query
//     types ANY, AXFR, IXFR, MAILA, MAILB: NOTIMP (no zone transfer, no ANY
//     expansion). Opcode other than QUERY: NOTIMP (RFC 1035 4.1.1).
//   - Malformed queries (QDCOUNT != 1, ANCOUNT/NSCOUNT != 0, ARCOUNT > 1 or
//     an additional record that is not OPT, a truncated question,
//     compression or a label > 63 bytes in the question name, a name > 255
//     bytes, qtype OPT, trailing bytes): FORMERR, header only.
//   - Dropped without reply: fewer than 12 bytes, QR set (never answer a
//     response: two servers would bounce FORMERRs forever), out too small.
//
// Not supported: wildcards (a "*" label is an ordinary label), delegations
// (NS below the apex is rejected at load time), DNSSEC, zone transfer.
package dnszone
