package semantic

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic/vecmath"
)

var benchLarge = flag.Bool("semproc.large", false, "benchmark partitions of 100,000 entries too (about 2 GB of memory)")

func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	u, _ := Normalize(v)
	return u
}

// benchStore is a memory store holding n random unit vectors in one
// partition, and the same vectors back to back, as an exact FLAT index
// keeps them.
func benchStore(b *testing.B, n, dims int) (*Memory, Partition, []float32) {
	b.Helper()
	r := rand.New(rand.NewPCG(uint64(n), uint64(dims)))
	m, err := NewMemory(MemoryOptions{MaxEntries: n, Dimensions: dims})
	if err != nil {
		b.Fatal(err)
	}
	p := Partition{Scope: "s"}
	flat := make([]float32, 0, n*dims)
	for i := range n {
		v := randomUnit(r, dims)
		flat = append(flat, v...)
		if err := m.Put(context.Background(), Entry{ID: fmt.Sprint(i), Partition: p, Vector: v, StoredAt: time.Now(), TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
	return m, p, flat
}

// BenchmarkScan puts side by side, on the same vectors: a copy of the
// float32 bytes (the machine's memory bandwidth), an exact float32 scan of
// them with the SIMD kernel (what a FLAT index does, on one core), and the
// store's search (sign codes, then int8 codes, several cores, exact
// rescoring of the candidates) for a near duplicate of one entry, k = 5,
// threshold 0.1. Every row reports the float32 bytes as its bytes, so MB/s
// compares directly. -semproc.large adds 100,000 entries; each size's
// vectors are made only when its benchmarks run.
func BenchmarkScan(b *testing.B) {
	sizes := []int{1_000, 10_000}
	if *benchLarge {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		for _, dims := range []int{384, 512, 1536} {
			b.Run(fmt.Sprintf("entries=%d/dims=%d", n, dims), func(b *testing.B) { scanSideBySide(b, n, dims) })
		}
	}
}

func scanSideBySide(b *testing.B, n, dims int) {
	m, p, flat := benchStore(b, n, dims)
	r := rand.New(rand.NewPCG(9, 9))
	q := Query{Partition: p, Vector: perturbed(r, flat[n/2*dims:(n/2+1)*dims], 0.5/float64(dims)), MaxDistance: 0.1, K: 5}
	b.Run("copy", func(b *testing.B) {
		dst := make([]float32, len(flat))
		copy(dst, flat) // the pages faulted in before the clock starts
		b.SetBytes(int64(4 * len(flat)))
		for b.Loop() {
			copy(dst, flat)
		}
	})
	b.Run("exact", func(b *testing.B) {
		b.SetBytes(int64(4 * len(flat)))
		for b.Loop() {
			best, at := float32(-2), -1
			for i := range n {
				if d := vecmath.Dot(q.Vector, flat[i*dims:(i+1)*dims]); d > best {
					best, at = d, i
				}
			}
			if at != n/2 {
				b.Fatalf("exact scan found %d", at)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		b.SetBytes(int64(4 * len(flat)))
		b.ReportAllocs()
		for b.Loop() {
			got, err := m.Search(context.Background(), q)
			if err != nil || len(got) != 1 || got[0].ID != fmt.Sprint(n/2) {
				b.Fatalf("search: %v %v", got, err)
			}
		}
	})
}

// BenchmarkMemorySearchParallel is searches from every core at once on
// 1,000 and 10,000 × 1536: with -cpu 1,2 the ratio of ns/op is the
// throughput gained by the second core (the larger partition's codes do not
// fit in the caches, so there the cores share the memory bandwidth).
func BenchmarkMemorySearchParallel(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		m, p, flat := benchStore(b, n, 1536)
		q := Query{Partition: p, Vector: flat[:1536], MaxDistance: 0.1, K: 5}
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if got, err := m.Search(context.Background(), q); err != nil || len(got) != 1 {
						b.Errorf("search: %v %v", got, err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMemoryGetWhileSearching is an exact Get while 64 goroutines
// search the same 10,000 × 1536 partition without pause, on as many cores
// as -cpu gives. loop calls Get back to back from the benchmark's goroutine:
// ns/op is the Get and whatever it waits for. woken is what a request
// sees: a goroutine parked on a channel, as a gRPC stream's is between
// messages, is woken for each Get and answers on another; ns/op runs from
// the wake-up to the answer (its wait for a core among the 65 runnable
// goroutines included), get-ns/op is the time inside Get alone.
func BenchmarkMemoryGetWhileSearching(b *testing.B) {
	m, p, flat := benchStore(b, 10_000, 1536)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 64 {
		q := Query{Partition: p, Vector: flat[i*1536 : (i+1)*1536], MaxDistance: 0.1, K: 5}
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _ = m.Search(ctx, q)
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	get := func(i int) {
		if got, err := m.Get(context.Background(), p, strconv.Itoa(i%10_000)); err != nil || got == nil {
			b.Errorf("get: %v %v", got, err)
		}
	}
	b.Run("loop", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			get(i)
		}
	})
	b.Run("woken", func(b *testing.B) {
		wake, answer := make(chan int), make(chan time.Duration)
		go func() {
			for i := range wake {
				t0 := time.Now()
				get(i)
				answer <- time.Since(t0)
			}
		}()
		var seen, inside []time.Duration
		waited := mutexWait()
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			wake <- i
			inside = append(inside, <-answer)
			seen = append(seen, time.Since(t0))
		}
		close(wake)
		b.ReportMetric(float64(mutexWait()-waited)/float64(b.N), "mutex-wait-ns/op")
		for _, q := range []float64{0.5, 0.99} {
			b.ReportMetric(float64(quantile(inside, q)), fmt.Sprintf("get-p%g-ns", 100*q))
			b.ReportMetric(float64(quantile(seen, q)), fmt.Sprintf("woken-p%g-ns", 100*q))
		}
	})
}

// mutexWait is the time every goroutine of the process has spent blocked on
// a sync.Mutex or RWMutex so far, in nanoseconds.
func mutexWait() float64 {
	s := []metrics.Sample{{Name: "/sync/mutex/wait/total:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64() * 1e9
}

func quantile(ds []time.Duration, q float64) time.Duration {
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))]
}

// BenchmarkMemoryPut measures inserting into a full store (every Put evicts).
func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	m, err := NewMemory(MemoryOptions{MaxEntries: 10_000, Dimensions: 512})
	if err != nil {
		b.Fatal(err)
	}
	vec := randomUnit(r, 512)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := m.Put(ctx, Entry{ID: fmt.Sprint(i), Partition: Partition{Scope: "s"}, Vector: vec, StoredAt: time.Now(), TTL: time.Hour}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryBytesPerEntry measures the heap 10,000 entries of 1536
// dimensions (64-byte IDs, no window or completion) take, per entry, beside
// what EntryBytes counts for them against MaxBytes.
func BenchmarkMemoryBytesPerEntry(b *testing.B) {
	const n, dims = 10_000, 1536
	r := rand.New(rand.NewPCG(5, 5))
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randomUnit(r, dims)
	}
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := NewMemory(MemoryOptions{MaxEntries: n, Dimensions: dims})
		if err != nil {
			b.Fatal(err)
		}
		for i, v := range vecs {
			e := Entry{ID: fmt.Sprintf("%064d", i), Partition: Partition{Scope: "s"}, Vector: v, StoredAt: time.Now(), TTL: time.Hour}
			if err := m.Put(context.Background(), e); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perEntry, "heap-B/entry")
	b.ReportMetric(float64(EntryBytes(Entry{ID: fmt.Sprintf("%064d", 0), Vector: vecs[0]})), "counted-B/entry")
}
