// Package fib is the IPv4 forwarding table: a longest-prefix match from a
// destination address to an adjacency (what to do with the packet: rewrite
// and send, deliver locally, glean, or drop), with equal-cost multipath
// chosen by a flow hash.
//
// # Readers and writers
//
// Forwarding nodes call [Table.Load] once per vector and then [View.Lookup]
// and [View.Adj] per packet. A [View] is a snapshot: no lock, no
// allocation, no map and no interface call on that path. Writers (the control
// plane, and ARP learning on a worker through [Table.SetNeighbor]) serialise
// on the table's mutex, build the next snapshot by path copying (only the
// trie nodes on the changed path are copied; everything else is shared with
// the previous snapshot) and publish it with one atomic pointer store, the
// RCU pattern.
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
// # The trie
//
// The lookup structure is a fixed-stride 8-8-8-8 multibit trie with prefix
// expansion (the "16-8-8"/DIR-24-8 family, cut into 256-slot nodes so a
// path copy stays small). Each slot holds the result of the longest prefix
// that ends inside the node's stride and covers it, and a pointer to a child
// node; a lookup walks at most four nodes keeping the last result seen. A
// result is either an adjacency index or, with the top bit set, an ECMP
// bucket table in the view. The writer also keeps the routes in a
// github.com/gaissmai/bart table (its RIB), used for listing routes and to
// find the covering prefix that takes over the slots of a deleted one.
// BenchmarkLookupBart measures bart's own Fast table on the same data for
// comparison.
package fib
