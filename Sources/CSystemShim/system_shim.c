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
    void *address = mmap(NULL, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
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
