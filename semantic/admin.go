package semantic

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Filter selects entries for a bulk delete. Model is a partition Model (a
// hex hash, see ModelTag); empty selects every entry of the store.
type Filter struct {
	Model string
}

// Matches reports whether an entry of partition p is selected.
func (f Filter) Matches(p Partition) bool { return f.Model == "" || f.Model == p.Model }

// Stats is what one store holds, by model.
type Stats struct {
	Namespace string       `json:"namespace"`
	Entries   int          `json:"entries"`
	Bytes     int64        `json:"bytes"`
	Models    []ModelStats `json:"models"`
}

// ModelStats is what a store holds for one effective model. Model is the
// partition's hash of the model name: stores keep no names.
type ModelStats struct {
	Model   string `json:"model"`
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
}

// Add counts one entry of model with its bytes.
func (s *Stats) Add(model string, bytes int64) {
	s.Entries++
	s.Bytes += bytes
	i, found := slices.BinarySearchFunc(s.Models, model, func(m ModelStats, t string) int { return cmp.Compare(m.Model, t) })
	if !found {
		s.Models = slices.Insert(s.Models, i, ModelStats{Model: model})
	}
	s.Models[i].Entries++
	s.Models[i].Bytes += bytes
}

// ModelTag is the partition Model of a model name, as the cache stores it.
func ModelTag(model string) string { return hashHex(model) }

// Delete removes the entry whose store key (X-Cache-Key) is key, and says
// whether there was a live one.
func (m *Memory) Delete(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	id, ok := strings.CutPrefix(key, m.keyPrefix)
	if !ok {
		return false, nil
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.all.items[id]
	if !ok {
		return false, nil
	}
	rec := el.Value.(*lruItem[string, *record]).val
	m.drop(rec)
	return !expired(rec, now), nil
}

// DeleteWhere removes every entry f selects and returns how many live ones
// it removed.
func (m *Memory) DeleteWhere(ctx context.Context, f Filter) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []*record
	for _, el := range m.all.items {
		if rec := el.Value.(*lruItem[string, *record]).val; f.Matches(rec.e.Partition) {
			gone = append(gone, rec)
		}
	}
	n := 0
	for _, rec := range gone {
		m.drop(rec)
		if !expired(rec, now) {
			n++
		}
	}
	return n, nil
}

// Stats counts the live entries and the bytes they hold against MaxBytes,
// by model.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	now := m.o.Now()
	s := Stats{Namespace: m.o.Namespace, Models: []ModelStats{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, el := range m.all.items {
		if rec := el.Value.(*lruItem[string, *record]).val; !expired(rec, now) {
			s.Add(rec.e.Partition.Model, rec.size)
		}
	}
	return s, nil
}
