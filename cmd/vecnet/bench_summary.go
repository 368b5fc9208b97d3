package main

import (
	"fmt"
	"io"
	"strings"
)

// What the benchmarks' summaries share: group a configuration's samples,
// take every numeric column's median over its successful rounds, and the
// ratio of each configuration's headline rate to the kernel's.

// benchSample is a benchmark's per-round measurement.
type benchSample interface {
	configName() string
	setConfig(string)
	failure() string // "" when the round succeeded
	// columns points at the sample's numeric fields (*float64 or *uint64),
	// always in the same order.
	columns() []any
}

func (s *Sample) configName() string    { return s.Config }
func (s *Sample) failure() string       { return s.Err }
func (s *Sample) setConfig(c string)    { s.Config = c }
func (s *DNSSample) setConfig(c string) { s.Config = c }
func (s *DNSSample) configName() string { return s.Config }
func (s *DNSSample) failure() string    { return s.Err }

func (s *Sample) columns() []any {
	return []any{&s.Window, &s.OfferedPPS, &s.GenTxDrops, &s.SenderCPUBusy, &s.RouterCPUBusy, &s.RouterLoss,
		&s.RouterRxDrops, &s.RouterTxDrops, &s.Forwarded, &s.SinkPPS, &s.CPUNsPerPkt,
		&s.GraphNsPerPkt, &s.VectorsPerCall, &s.WorkerSysShare, &s.WorkerCPU}
}

func (s *DNSSample) columns() []any {
	return []any{&s.Window, &s.SentQPS, &s.AnswersQPS, &s.Replies, &s.ServerIdle, &s.ServerBusy, &s.ClientIdle,
		&s.ServerQs, &s.DnsperfQPS, &s.DnsperfLost}
}

// roundsOf returns configuration c's successful samples and the errors of
// the others.
func roundsOf[T any, P interface {
	*T
	benchSample
}](samples []T, c string) (ok []T, errs []string) {
	for k := range samples {
		x := P(&samples[k])
		switch {
		case x.configName() != c:
		case x.failure() != "":
			errs = append(errs, x.failure())
		default:
			ok = append(ok, samples[k])
		}
	}
	return ok, errs
}

// medianSample returns a sample whose every numeric column is the median of
// that column over rows (zero when rows is empty).
func medianSample[T any, P interface {
	*T
	benchSample
}](rows []T) T {
	var m T
	cols := P(&m).columns()
	vals := make([]float64, len(rows))
	for i := range cols {
		for k := range rows {
			switch p := P(&rows[k]).columns()[i].(type) {
			case *float64:
				vals[k] = *p
			case *uint64:
				vals[k] = float64(*p)
			}
		}
		v := median(vals)
		switch p := cols[i].(type) {
		case *float64:
			*p = v
		case *uint64:
			*p = uint64(v)
		}
	}
	return m
}

// kernelRatios divides each configuration's rate by the kernel's: rate(i)
// is configuration i's median rate and whether it had a successful round.
func kernelRatios(configs []string, rate func(i int) (float64, bool)) []float64 {
	var kernel float64
	for i, c := range configs {
		if v, ok := rate(i); ok && c == "kernel" {
			kernel = v
		}
	}
	out := make([]float64, len(configs))
	for i := range configs {
		if v, ok := rate(i); ok && kernel > 0 {
			out[i] = v / kernel
		}
	}
	return out
}

// BenchSummary is one configuration's medians over its successful rounds.
type BenchSummary[T any] struct {
	Config string   `json:"config"`
	Rounds int      `json:"rounds"` // successful rounds
	Errors []string `json:"errors,omitempty"`
	Median T        `json:"median"` // each numeric field the median over rounds
	// Rates is the headline rate of each successful round (sink pps,
	// answers/s), in round order.
	Rates []float64 `json:"rate_rounds"`
	// RatioToKernel is the median headline rate over the kernel's (0
	// without a kernel row).
	RatioToKernel float64 `json:"ratio_to_kernel"`
}

// firstError says why a configuration has no successful round.
func (s *BenchSummary[T]) firstError() string {
	if len(s.Errors) > 0 {
		return s.Errors[0]
	}
	return "no successful round"
}

// summarize groups samples by configuration, in configs order, with the
// medians of every column and rate's ratio to the kernel's.
func summarize[T any, P interface {
	*T
	benchSample
}](samples []T, configs []string, rate func(*T) float64) []BenchSummary[T] {
	out := make([]BenchSummary[T], len(configs))
	for i, c := range configs {
		rows, errs := roundsOf[T, P](samples, c)
		s := BenchSummary[T]{Config: c, Rounds: len(rows), Errors: errs, Median: medianSample[T, P](rows)}
		P(&s.Median).setConfig(c)
		for k := range rows {
			s.Rates = append(s.Rates, rate(&rows[k]))
		}
		out[i] = s
	}
	ratios := kernelRatios(configs, func(i int) (float64, bool) { return rate(&out[i].Median), out[i].Rounds > 0 })
	for i, r := range ratios {
		out[i].RatioToKernel = r
	}
	return out
}

// writeRounds prints each configuration's per-round rates divided by unit.
func writeRounds[T any](w io.Writer, sum []BenchSummary[T], format string, unit float64) {
	for _, s := range sum {
		var r []string
		for _, v := range s.Rates {
			r = append(r, fmt.Sprintf(format, v/unit))
		}
		fmt.Fprintf(w, "  %-8s %s\n", s.Config, strings.Join(r, " "))
	}
}
