package tcpnode

import (
	"syscall"

	"github.com/vecnet/vecnet/stack/tcp"
)

// ICMPError is the TCP receiver of package icmp's error delivery (an
// icmp.ErrorReceiver; stack/host registers it): it hands the error to the
// engine that holds the quoted connection (tcp.Engine.ICMPError) and
// reports whether one took it. ICMP errors are rare and may arrive on any
// worker's queue, so it tries each worker's engine in turn, under that
// engine's lock (as an application call does); segments the engine sends
// in answer go out through tcp4-output.
func (t *TCP) ICMPError(quote []byte, errno syscall.Errno) bool {
	kind := tcp.ICMPHostUnreachable
	switch errno {
	case syscall.ECONNREFUSED:
		kind = tcp.ICMPPortUnreachable
	case syscall.ENOPROTOOPT:
		kind = tcp.ICMPProtoUnreachable
	case syscall.ENETUNREACH:
		kind = tcp.ICMPNetUnreachable
	case syscall.EACCES:
		kind = tcp.ICMPProhibited
	}
	return t.icmp(quote, kind, 0)
}

// ICMPPacketTooBig implements icmp.MTUReceiver: an ICMPv4 fragmentation
// needed or ICMPv6 packet too big lowers the path MTU of the quoted
// connection (tcp.Engine.ICMPError).
func (t *TCP) ICMPPacketTooBig(quote []byte, mtu int) bool {
	return t.icmp(quote, tcp.ICMPPacketTooBig, mtu)
}

func (t *TCP) icmp(quote []byte, kind tcp.ICMPKind, mtu int) bool {
	for _, tw := range t.workers {
		tw.mu.Lock()
		ok := tw.eng.ICMPError(quote, kind, mtu)
		tw.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}
