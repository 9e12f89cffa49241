//go:build linux && cgo

package inference

// #include <malloc.h>
import "C"

// trimCHeap hands memory that ONNX Runtime freed back to the OS. glibc keeps freed blocks in
// its arenas for reuse, so without this, unloading the session would leave most of its memory
// resident.
func trimCHeap() { C.malloc_trim(0) }
