// Package pcap reads and writes classic libpcap capture files and turns them
// into ports: a Port that replays one file into the graph and records what
// the graph sends into another, and Capture, a wrapper that records what any
// port receives and sends.
//
// The format (not pcapng) is a 24-byte global header followed by records of
// a 16-byte header and the captured bytes:
//
//	global header                        record header
//	 0 magic          a1b2c3d4 (µs)       0 ts_sec   seconds since 1970
//	                  a1b23c4d (ns)       4 ts_frac  µs or ns, by magic
//	 4 version_major  2                   8 incl_len bytes captured (that follow)
//	 6 version_minor  4                  12 orig_len bytes on the wire
//	 8 thiszone       0
//	12 sigfigs        0
//	16 snaplen        longest incl_len
//	20 linktype       1 = Ethernet
//
// The writer of the file chose the byte order; the magic, read in either
// order, tells which. Reader takes both orders and both resolutions; Writer
// writes microsecond little-endian files, as tcpdump does on this machine.
//
// Reader and Writer copy into and out of caller memory and allocate nothing
// per record, so a Port can use them on the worker that owns it. File I/O on
// a worker blocks that worker; this is accepted for pcap ports, which exist
// for tests, replays and debugging rather than line rate.
package pcap
