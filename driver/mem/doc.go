// Package mem provides in-memory ports for tests and benchmarks: a connected
// pair (NewPair), where what one port sends the other receives, and a single
// port whose far end is the test itself (NewPort with Inject and Sent).
//
// A link between two ends is a bounded single-producer single-consumer ring
// of fixed byte slots allocated once at construction (ring.go). Send copies
// each frame into the next slot and frees the sender's buffer; Recv allocates
// a buffer from the receiver's cache and copies the frame out. Ports never
// hand one another packet buffers, so the two ends may use different pools,
// run on different workers, and neither leaks into the other. Head and tail
// are published with one atomic store per vector; Send and Recv take no lock
// and allocate nothing.
//
// Faults are injected on the transmit side of a link, from a PCG generator
// seeded with Config.Seed, so a run is reproducible: loss, duplication,
// reordering (a frame swaps with the next one in the same vector),
// corruption (one byte flipped) and truncation (cut to a shorter length).
// Each fault that happens is counted in FaultStats.
//
// A Port's data-path methods (Recv, Send, Stats, Faults, Close) belong to
// the one goroutine that owns it, as for every driver.Port. The test-side
// methods of a NewPort port (Inject, Sent, TakeSent) may be called from any
// goroutine: they serialise on a mutex that the data path never takes.
package mem
