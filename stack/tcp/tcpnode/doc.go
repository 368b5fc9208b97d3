// Package tcpnode puts the TCP engine of package stack/tcp in the graph
// of the host stack: the tcp4-input node (segments to the worker's engine,
// one Engine.Input per vector), the tcp4-output input node (segments that
// applications' calls produced), the tcp-handoff input node and the flow
// table that bring a segment to the worker owning its connection (with
// several workers), TCP sockets for goroutines (Listen, Dial,
// Listener, Conn; package sock builds net.Listener and net.Conn on them),
// the in-graph API for run-to-completion servers (Handle, Handler,
// GraphConn) and fault injection for tests (stack.TCPFault). See package
// stack for the design.
package tcpnode
