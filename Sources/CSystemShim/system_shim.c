#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "system_shim.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int updater_pipe_cloexec_nonblock(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }

int updater_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

/* Guarded mappings: a table of address ranges the SIGBUS handler knows. A slot is claimed with a
   compare-and-swap on its start, so threads mapping files at once take different slots; the
   handler only reads the table, and touches nothing but atomics and mmap (async-signal-safe in
   practice: one system call). */
#define GUARD_SLOTS 64
static _Atomic uintptr_t guard_start[GUARD_SLOTS];
static _Atomic uintptr_t guard_end[GUARD_SLOTS];
static _Atomic int guard_hits[GUARD_SLOTS];
static struct sigaction previous_bus;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_bus(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int k = 0; k < GUARD_SLOTS; k++) {
        uintptr_t start = atomic_load(&guard_start[k]);
        if (start != 0 && address >= start && address < atomic_load(&guard_end[k])) {
            uintptr_t page = address & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
            mmap((void *)page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            atomic_fetch_add(&guard_hits[k], 1);
            return;
        }
    }
    /* Not a guarded mapping: the action there was before (the Swift runtime's crash report, or the
       default), which the faulting instruction meets when it runs again. */
    sigaction(SIGBUS, &previous_bus, NULL);
    (void)sig;
    (void)context;
}

static void install_bus_handler(void) {
    struct sigaction action = {0};
    action.sa_sigaction = on_bus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous_bus);
}

const void *updater_map_guarded(int fd, size_t length, int *guard) {
    *guard = -1;
    void *address = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) return NULL;
    pthread_once(&bus_once, install_bus_handler);
    for (int k = 0; k < GUARD_SLOTS; k++) {
        uintptr_t free_slot = 0;
        if (atomic_compare_exchange_strong(&guard_start[k], &free_slot, (uintptr_t)address)) {
            atomic_store(&guard_hits[k], 0);
            atomic_store(&guard_end[k], (uintptr_t)address + length);
            *guard = k;
            break;
        }
    }
    return address;
}

int updater_unmap_guarded(const void *address, size_t length, int guard) {
    int hits = 0;
    if (guard >= 0) {
        hits = atomic_load(&guard_hits[guard]);
        atomic_store(&guard_end[guard], 0);
        atomic_store(&guard_start[guard], 0);
    }
    munmap((void *)address, length);
    return hits;
}

/* Line ends and quotes. The count is LF + CR - (CR immediately followed by LF): a CRLF pair is one
   line end. `after_cr` carries "the previous byte was a CR" from one block to the next. */
static size_t line_ends_tail(const unsigned char *p, size_t n, int after_cr, int *has_quote) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        count += (c == '\n') + (c == '\r') - (c == '\n' && after_cr);
        after_cr = c == '\r';
        if (c == '"') *has_quote = 1;
    }
    return count;
}

#if defined(__x86_64__)
__attribute__((target("avx2,popcnt")))
static size_t line_ends_avx2(const unsigned char *p, size_t n, int *has_quote) {
    const __m256i lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'), qu = _mm256_set1_epi8('"');
    size_t count = 0, i = 0;
    uint64_t carry = 0, quotes = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        uint64_t mlf = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, lf))
            | (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, lf)) << 32;
        uint64_t mcr = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, cr))
            | (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, cr)) << 32;
        quotes |= (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(a, qu), _mm256_cmpeq_epi8(b, qu)));
        uint64_t crlf = mlf & (mcr << 1 | carry);
        count += (size_t)(_mm_popcnt_u64(mlf) + _mm_popcnt_u64(mcr) - _mm_popcnt_u64(crlf));
        carry = mcr >> 63;
    }
    *has_quote = quotes != 0;
    return count + line_ends_tail(p + i, n - i, (int)carry, has_quote);
}
#endif

size_t updater_line_ends(const unsigned char *p, size_t n, int *has_quote) {
    *has_quote = 0;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return line_ends_avx2(p, n, has_quote);
#endif
    return line_ends_tail(p, n, 0, has_quote);
}
