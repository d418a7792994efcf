package main

import (
	"context"
	"errors"
	"maps"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// registerGauges observes, at each scrape, each dependency's state (as
// /readyz shows it) and, for the in-process store, what it holds.
func registerGauges(m metric.Meter, c *components) error {
	var (
		errs                    [4]error
		up, open, entries, size metric.Int64ObservableGauge
	)
	up, errs[0] = m.Int64ObservableGauge("semproc.dependency.up",
		metric.WithDescription("1 when the dependency is ok (as /readyz says), 0 when it is failing, its breaker open, or it is starting (routing: on its fallback)."))
	open, errs[1] = m.Int64ObservableGauge("semproc.dependency.breaker.open",
		metric.WithDescription("1 while the dependency's circuit breaker is open: requests skip it and are Failed until a probe succeeds."))
	entries, errs[2] = m.Int64ObservableGauge("semproc.store.entries",
		metric.WithDescription("Entries in the in-process store, live or expired but not yet swept (SEMPROC_VECTORDB=memory only)."))
	size, errs[3] = m.Int64ObservableGauge("semproc.store.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes the in-process store's entries count against SEMPROC_MEMORY_MAX_BYTES (SEMPROC_VECTORDB=memory only)."))
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	memory := c.cache != nil && c.cfg.VectorDB == "memory"
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		deps := c.dependencies()
		for _, name := range slices.Sorted(maps.Keys(deps)) {
			d := deps[name]
			dep := metric.WithAttributes(attribute.String("dependency", name))
			o.ObserveInt64(up, boolInt(d.State == "ok"), dep)
			if d.BreakerState != nil {
				o.ObserveInt64(open, boolInt(d.State == "open"), dep)
			}
		}
		if memory {
			// Zero until the store is open.
			var n, b int64
			if s, err := c.store.get(); err == nil {
				if ms, ok := s.(interface {
					Len() int
					Bytes() int64
				}); ok {
					n, b = int64(ms.Len()), ms.Bytes()
				}
			}
			o.ObserveInt64(entries, n)
			o.ObserveInt64(size, b)
		}
		return nil
	}, up, open, entries, size)
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
