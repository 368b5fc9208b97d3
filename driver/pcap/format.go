package pcap

import "errors"

// File format constants.
const (
	magicMicro = 0xa1b2c3d4 // timestamps in microseconds
	magicNano  = 0xa1b23c4d // timestamps in nanoseconds

	versionMajor = 2
	versionMinor = 4

	fileHeaderLen   = 24
	recordHeaderLen = 16

	// LinkTypeEthernet is the linktype of Ethernet captures (DLT_EN10MB).
	LinkTypeEthernet = 1

	// MaxSnaplen is the longest record the reader accepts (libpcap's
	// MAXIMUM_SNAPLEN), whatever the file's snaplen says.
	MaxSnaplen = 262144
)

// Errors returned by Reader and Writer. Record errors are returned
// unwrapped, so checking them allocates nothing.
var (
	// ErrBadHeader reports a global header that is not classic pcap 2.x.
	ErrBadHeader = errors.New("pcap: bad file header")
	// ErrBadRecord reports a record longer than the file's snap length or
	// MaxSnaplen: the file is damaged and reading cannot go on.
	ErrBadRecord = errors.New("pcap: record longer than the snap length")
	// ErrShortBuffer reports a record longer than the caller's buffer. The
	// record was skipped and the next call reads the one after it.
	ErrShortBuffer = errors.New("pcap: record longer than the buffer, skipped")
	// ErrTimeRange reports a timestamp that the format cannot hold (before
	// 1970 or after 2106).
	ErrTimeRange = errors.New("pcap: timestamp outside 1970..2106")
)
