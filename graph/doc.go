// Package graph is the vector engine: packets move through a directed graph
// of small nodes a vector (up to pkt.VectorSize buffer indices) at a time, as
// in FD.io VPP.
//
// A node is registered as data (Registration): its name, the names of the
// nodes it hands packets to, and its named error counters. Build resolves
// every next name to a small edge index once, so a typo fails at start-up,
// and instantiates the graph for one worker. Each worker owns its Graph: its
// frames, its statistics and its counters are plain integers touched by that
// worker alone (shared-nothing); the control plane reads them through the
// worker (see package worker), never concurrently.
//
// A node function receives a vector, decides a next edge per packet into
// n.Nexts, and hands the lot on with one Enqueue. When every packet goes the
// same way the vector moves whole, without copying a single index; otherwise
// runs of equal nexts are copied into the next nodes' frames. Edge 0 of every
// node is "error-drop": a node drops a packet by setting its Meta.Error to one
// of its own error ids (Node.Err) and sending it to edge 0, where error-drop
// counts it by (node, error) and frees it, as VPP's "show errors".
//
// Dispatch runs input nodes, then every node with pending frames until none
// remain, timing each node call with one TSC read pair (calls, vectors,
// clocks, vectors/call as VPP's "show runtime"). A trace budget marks the next
// N input packets; every enqueue of a traced packet is recorded with the node,
// the next node, the error and the first bytes of the packet.
//
// Feature arcs (VPP's vnet features) let services such as ACLs or policers
// sit between two nodes per interface without touching the forwarding nodes:
// see Arc.
package graph
