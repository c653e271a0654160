package route

// minHeap is an addressable 4-ary min-heap of node ids keyed by uint32
// costs, with decrease-key. A 4-ary heap halves the depth of a binary one
// and keeps siblings in one cache line, which is what Dijkstra on road
// networks spends its time on.
type minHeap struct {
	items []heapItem
	pos   []int32 // pos[node] = index in items, or -1
}

type heapItem struct {
	key  uint32
	node uint32
}

func newMinHeap(n int) *minHeap {
	h := &minHeap{pos: make([]int32, n)}
	for i := range h.pos {
		h.pos[i] = -1
	}
	return h
}

func (h *minHeap) Len() int { return len(h.items) }

// Clear empties the heap in time proportional to its size.
func (h *minHeap) Clear() {
	for _, it := range h.items {
		h.pos[it.node] = -1
	}
	h.items = h.items[:0]
}

// PushOrDecrease inserts node with key, or lowers its key if it is present
// with a higher one.
func (h *minHeap) PushOrDecrease(node, key uint32) {
	i := h.pos[node]
	if i < 0 {
		h.items = append(h.items, heapItem{key, node})
		i = int32(len(h.items) - 1)
		h.pos[node] = i
	} else if key >= h.items[i].key {
		return
	} else {
		h.items[i].key = key
	}
	h.up(int(i))
}

// Pop removes and returns the node with the smallest key.
func (h *minHeap) Pop() (node, key uint32) {
	top := h.items[0]
	last := len(h.items) - 1
	h.pos[top.node] = -1
	if last > 0 {
		h.items[0] = h.items[last]
		h.pos[h.items[0].node] = 0
		h.items = h.items[:last]
		h.down(0)
	} else {
		h.items = h.items[:0]
	}
	return top.node, top.key
}

func (h *minHeap) up(i int) {
	it := h.items[i]
	for i > 0 {
		p := (i - 1) / 4
		if h.items[p].key <= it.key {
			break
		}
		h.items[i] = h.items[p]
		h.pos[h.items[i].node] = int32(i)
		i = p
	}
	h.items[i] = it
	h.pos[it.node] = int32(i)
}

func (h *minHeap) down(i int) {
	it := h.items[i]
	n := len(h.items)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if h.items[j].key < h.items[best].key {
				best = j
			}
		}
		if h.items[best].key >= it.key {
			break
		}
		h.items[i] = h.items[best]
		h.pos[h.items[i].node] = int32(i)
		i = best
	}
	h.items[i] = it
	h.pos[it.node] = int32(i)
}
