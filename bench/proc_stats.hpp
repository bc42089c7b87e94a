// What a server process holds, from /proc: resident memory, threads and open
// descriptors, summed over the process and its descendants (Dante forks).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace bench {

struct ProcessStats {
    std::uint64_t rss_kib = 0;  // VmRSS from /proc/PID/status
    std::uint64_t pss_kib = 0;  // Pss from /proc/PID/smaps_rollup (shared pages split fairly)
    std::uint64_t threads = 0;  // Threads from /proc/PID/status
    std::uint64_t fds = 0;      // entries of /proc/PID/fd
    int processes = 0;
};

// Throws std::runtime_error when `pid` does not exist.
ProcessStats read_process_tree(pid_t pid);

}  // namespace bench
