//go:build !linux || !cgo

package inference

// trimCHeap: other C libraries return freed memory on their own terms.
func trimCHeap() {}
