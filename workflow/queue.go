package workflow

// queue is a FIFO that reuses its backing array.
type queue[T any] struct {
	items []T
	head  int
}

func (q *queue[T]) len() int { return len(q.items) - q.head }

func (q *queue[T]) push(v T) { q.items = append(q.items, v) }

func (q *queue[T]) pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 32 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

// removeFunc removes the items for which drop returns true, keeping order.
func (q *queue[T]) removeFunc(drop func(T) bool) {
	var zero T
	n := q.head
	for i := q.head; i < len(q.items); i++ {
		if !drop(q.items[i]) {
			q.items[n] = q.items[i]
			n++
		}
	}
	for i := n; i < len(q.items); i++ {
		q.items[i] = zero
	}
	q.items = q.items[:n]
}
