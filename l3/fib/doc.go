// Package fib is the IPv4 forwarding table: a longest-prefix match from a
// destination address to an adjacency (what to do with the packet: rewrite
// and send, deliver locally, glean, or drop), with equal-cost multipath
// chosen by a flow hash.
//
// # Readers and writers
//
// Forwarding nodes call [Table.Load] once per vector and then [View.Lookup]
// (or [View.LookupBatch] over the whole vector, as ip4-lookup does) and
// [View.Adj] per packet: no lock, no allocation, no map and no interface
// call on that path. Writers (the control plane; a worker learning
// a neighbour calls [Table.TrySetNeighbor] and the like, which never wait
// for a writer) serialise on the table's mutex
// and update the lookup structure in place, as DPDK's rte_fib and VPP's
// ip4 mtrie do: every entry is stored with one atomic store and read with
// one atomic load, so an address's result goes from its old route to its
// new one in one step and a route being replaced is never missing. A batch
// ([Table.ApplyRoutes]) is validated all or nothing and applied under one
// hold of the lock, but readers see each address change on its own, not the
// batch at once. Adjacency slots live in chunks every view shares; the ECMP
// array a [View] holds is republished (one atomic pointer store) before any
// entry may name a new group.
//
// # Adjacencies
//
// Adjacencies live in slots shared by every view; each slot is an atomic
// pointer to an immutable [Adjacency], so a neighbour whose MAC changes is
// rewritten with one store (O(1), nothing published), whatever the number
// of neighbours. Next-hop adjacencies are reference counted (installed
// routes, ECMP group members, neighbour /32s) and freed when nothing uses
// them; a freed slot reads as the drop adjacency and is quarantined until
// two [Table.Reclaim] calls have passed (the neighbour table calls it about
// once a second) before it names another next hop, so a packet carrying an
// [AdjIndex] from ip4-lookup to ip4-rewrite never meets another neighbour's
// rewrite. [View.Adj] returns the drop adjacency for an index out of range;
// [Table.AdjStats] counts live and free slots.
//
// # DIR-24-8
//
// The lookup structure is DIR-24-8 (see dir24): a flat first level of 2^24
// entries indexed by the address's top 24 bits, and 256-entry second-level
// groups for the /24s that hold longer prefixes, both mapped outside the
// Go heap (address space reserved, memory only where written). Prefixes are expanded: each entry holds the result
// of the longest prefix covering it (an adjacency index or, flagged, an
// ECMP bucket table) and that prefix's length, so inserts and removals
// touch only the entries whose length says they belong. A lookup is one or
// two dependent loads. Freed groups and ECMP tables are quarantined for two
// [Table.Reclaim] calls before reuse; first-level pages left all zero and
// pages of groups all free go back to the kernel then (madvise), so memory
// returns when a large table is withdrawn. The writer also keeps the routes in an exact-match map (its
// RIB), used for listing routes and to find the covering prefix that takes
// over the entries of a deleted one. (IPv6, [Table6], uses a persistent
// BART trie instead.)
package fib
