package daemon

import (
	"fmt"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/mem"
	"github.com/vecnet/vecnet/driver/memif"
	"github.com/vecnet/vecnet/driver/pcap"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/worker"
)

// openPorts opens interface ic: its ports (port q is worker q's), a
// description for "show interfaces", and the MAC its driver chose (zero when
// the driver has none). Kernel interfaces are remembered for Stop.
func (d *Daemon) openPorts(ic config.Interface, workers int) ([]driver.Port, string, [6]byte, error) {
	var none [6]byte
	switch ic.Driver {
	case "mem":
		ports := make([]driver.Port, workers)
		for w := range ports {
			ports[w] = mem.NewPort(mem.Config{Name: ic.Name})
		}
		return ports, "mem", none, nil
	case "pcap":
		if workers != 1 {
			return nil, "", none, fmt.Errorf("the pcap driver runs on one worker (workers: 1)")
		}
		p, err := pcap.Open(pcap.PortConfig{In: ic.PcapIn, Out: ic.PcapOut})
		if err != nil {
			return nil, "", none, err
		}
		return []driver.Port{p}, "pcap in=" + ic.PcapIn + " out=" + ic.PcapOut, none, nil
	case "memif":
		if ic.Queues > workers {
			return nil, "", none, fmt.Errorf("%d queues but %d workers: each queue needs its worker", ic.Queues, workers)
		}
		m, err := openMemif(ic, d.DP.Pool)
		if err != nil {
			return nil, "", none, err
		}
		d.kernel = append(d.kernel, m)
		return m.Ports(), m.Info(), none, nil
	default:
		if ic.Queues > workers {
			return nil, "", none, fmt.Errorf("%d queues but %d workers: each queue needs its worker", ic.Queues, workers)
		}
		k, err := d.openKernel(ic)
		if err != nil {
			return nil, "", none, err
		}
		d.kernel = append(d.kernel, k)
		return k.Ports(), k.Info(), k.MAC(), nil
	}
}

// inputsDoneOnWorkers reports whether every pcap port has read its whole
// file and its worker has nothing pending, asking each worker on its thread.
func (d *Daemon) inputsDoneOnWorkers() bool {
	done := true
	d.OnWorkers(func(w *worker.Worker) {
		for _, ifc := range d.Interfaces {
			if w.ID < len(ifc.Ports) {
				if pp, ok := driver.Underlying(ifc.Ports[w.ID]).(*pcap.Port); ok && !pp.Done() {
					done = false
				}
			}
		}
		if w.Graph.Pending() {
			done = false
		}
	})
	return done
}

// WaitInputs waits until every pcap input is consumed and the workers went
// idle, or the timeout passes.
func (d *Daemon) WaitInputs(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if d.inputsDoneOnWorkers() {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("inputs not consumed after %v", timeout)
}

// memifInterface is a memif endpoint with the methods the daemon closes
// and describes interfaces by (listed with the kernel interfaces for Stop).
type memifInterface struct{ *memif.Endpoint }

func openMemif(ic config.Interface, pool *pkt.Pool) (memifInterface, error) {
	role, err := memif.ParseRole(ic.MemifRole)
	if err != nil {
		return memifInterface{}, err
	}
	log2 := uint8(0)
	for 1<<log2 < ic.RingSize {
		log2++
	}
	cfg := memif.Config{Name: ic.Name, Socket: ic.MemifSocket, Role: role, ID: ic.MemifID,
		Secret: ic.MemifSecret, Queues: ic.Queues, Log2RingSize: log2}
	if ic.MemifZeroCopy() {
		cfg.Pool = pool
	}
	e, err := memif.Open(cfg)
	return memifInterface{e}, err
}

func (m memifInterface) Ports() []driver.Port   { return driver.Ports(m.Endpoint.Ports()) }
func (m memifInterface) MAC() [6]byte           { return [6]byte{} }
func (m memifInterface) Close(*pkt.Cache) error { return m.Endpoint.Close() }
