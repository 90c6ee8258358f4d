#ifndef UPDATER_SYSTEM_SHIM_H
#define UPDATER_SYSTEM_SHIM_H

/// pipe2(fds, O_CLOEXEC | O_NONBLOCK): a pipe whose ends no child process inherits, even one spawned
/// by another thread at the same moment (pipe2 is not in Swift's Glibc module). 0, or -1 with errno.
int updater_pipe_cloexec_nonblock(int fds[2]);

#endif
