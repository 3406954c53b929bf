// Heap allocation counting for benchmarks. The executable that links this target defines
// malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign itself, so every
// allocation in the process (Swift runtime included) passes through here and then on to glibc.
// Counters are per thread: a benchmark measures only its own thread's allocations.
#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H
#include <stdint.h>

/// Allocations made by the calling thread since it started.
uint64_t gwlb_thread_allocation_count(void);
/// Bytes requested by the calling thread's allocations since it started.
uint64_t gwlb_thread_allocated_bytes(void);

#endif
