package daemon

import (
	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/worker"
)

// OffloadRow is one interface's software-offload counters, summed over its
// ports: the GSO super-frames segmented, the partial checksums completed,
// and the frames that could not be handled, by offload error name.
type OffloadRow struct {
	Name     string
	Counters offload.Counters
}

// Offload returns a row per interface whose ports segment or complete
// checksums in software (offload.Reporter), read on the workers.
func (d *Daemon) Offload() []OffloadRow {
	set := d.DP.Ifaces.Load()
	var rows []OffloadRow
	for _, ifc := range d.Interfaces {
		row := OffloadRow{Name: set.Get(ifc.Index).Name}
		found := false
		d.OnWorkers(func(w *worker.Worker) {
			if w.ID >= len(ifc.Ports) {
				return
			}
			if r, ok := driver.Underlying(ifc.Ports[w.ID]).(offload.Reporter); ok {
				c := r.OffloadErrors()
				row.Counters.Add(&c)
				found = true
			}
		})
		if found {
			rows = append(rows, row)
		}
	}
	return rows
}
