package semantic

import (
	"container/list"
	"sync"
)

// lru is a bounded map that forgets its least recently used key first. It
// is not safe for concurrent use: its owners hold a lock.
type lru[K comparable, V any] struct {
	max     int
	order   *list.List // front = most recently used
	items   map[K]*list.Element
	onEvict func(K, V)
}

type lruItem[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](maxEntries int, onEvict func(K, V)) *lru[K, V] {
	return &lru[K, V]{max: maxEntries, order: list.New(), items: make(map[K]*list.Element), onEvict: onEvict}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	el, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem[K, V]).val, true
}

func (c *lru[K, V]) put(k K, v V) {
	if el, ok := c.items[k]; ok {
		old := el.Value.(*lruItem[K, V])
		if c.onEvict != nil {
			c.onEvict(old.key, old.val)
		}
		old.val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruItem[K, V]{key: k, val: v})
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
}

func (c *lru[K, V]) delete(k K) {
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
}

func (c *lru[K, V]) remove(el *list.Element) {
	it := c.order.Remove(el).(*lruItem[K, V])
	delete(c.items, it.key)
	if c.onEvict != nil {
		c.onEvict(it.key, it.val)
	}
}

func (c *lru[K, V]) len() int { return c.order.Len() }

// removeOldest forgets the least recently used key, if any.
func (c *lru[K, V]) removeOldest() {
	if el := c.order.Back(); el != nil {
		c.remove(el)
	}
}

// useBuffer is how many reads a uses buffer holds before a reader takes
// its owner's lock to apply them.
const useBuffer = 1024

// uses records the keys that reads served without taking their owner's
// lock, in order, so the owner can bring its LRU order up to date under the
// lock before it evicts anything. A read under load then never waits for
// the lock: a goroutine that parks on a contended mutex waits for a core
// again when it is woken, behind every other runnable goroutine.
type uses[T any] chan T

func newUses[T any]() uses[T] { return make(chan T, useBuffer) }

// add records a use of t. When the buffer is full it takes the owner's
// lock, mu, and applies the recorded uses and t itself.
func (u uses[T]) add(t T, mu sync.Locker, apply func(T)) {
	select {
	case u <- t:
		return
	default:
	}
	mu.Lock()
	defer mu.Unlock()
	u.drain(apply)
	apply(t)
}

// drain applies the recorded uses in the order they were made; the
// owner's lock is held.
func (u uses[T]) drain(apply func(T)) {
	for {
		select {
		case t := <-u:
			apply(t)
		default:
			return
		}
	}
}
