package daemon

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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

func (d *Daemon) showOffload(w io.Writer, _ []string) error {
	return writeOffload(w, d.Offload())
}

// writeOffload renders rows as a table, errors as "name count" pairs.
func writeOffload(w io.Writer, rows []OffloadRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Name\tSuper-frames segmented\tSegments\tChecksums completed\tNot handled")
	for _, r := range rows {
		var errs []string
		r.Counters.Each(func(name string, n uint64) { errs = append(errs, fmt.Sprintf("%s %d", name, n)) })
		if len(errs) == 0 {
			errs = append(errs, "-")
		}
		c := r.Counters
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.Name, c.Segmented, c.Segments, c.Completed, strings.Join(errs, ", "))
	}
	return tw.Flush()
}
