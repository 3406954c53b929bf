// Interposes the allocator by definition: symbols in the executable win over glibc's for every
// shared object, so no LD_PRELOAD is needed (ordo-one/malloc-interposer needs one on Linux).
#include "CAllocationCounter.h"
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread uint64_t allocation_count;
static __thread uint64_t allocated_bytes;

static inline void count(size_t size) {
    allocation_count += 1;
    allocated_bytes += size;
}

uint64_t gwlb_thread_allocation_count(void) { return allocation_count; }
uint64_t gwlb_thread_allocated_bytes(void) { return allocated_bytes; }

void *malloc(size_t size) {
    count(size);
    return __libc_malloc(size);
}

void *calloc(size_t number, size_t size) {
    count(number * size);
    return __libc_calloc(number, size);
}

void *realloc(void *pointer, size_t size) {
    count(size);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return 22; // EINVAL
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12; // ENOMEM
    count(size);
    *result = pointer;
    return 0;
}
