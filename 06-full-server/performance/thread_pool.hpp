// Spare threads: one thread per session still, but a thread whose session has
// ended waits a while for the next one instead of exiting. Creating a thread
// (clone, a fresh stack, the kernel's and libc's bookkeeping, and tearing it
// all down again) is a large share of a short session's cost; docs/performance.md
// measures it. The pool plugs into chapter 01's Server as its SessionLauncher.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace socks {

struct ThreadPoolOptions {
    // At most this many threads wait for a session; 0: every session gets a
    // new thread (chapter 01's way).
    std::size_t max_spare = 16;
    // A spare thread unused for this long exits: a server that has gone quiet
    // gives its threads back.
    std::chrono::milliseconds spare_for{1000};
    std::size_t stack_size = 0;  // as ServerOptions::thread_stack_size
};

class ThreadPool {
  public:
    explicit ThreadPool(ThreadPoolOptions options) : options_(options) {}
    // Wakes the spare threads and waits until every thread has exited. Call it
    // after the server has stopped: a running session would be waited for.
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Runs `session` on a spare thread, or on a new one when none is waiting.
    // False (errno set) when a new thread was needed and could not be made.
    bool run(std::function<void()> session);

    std::size_t spare() const;

  private:
    // A spare thread waits on its own condition variable, so handing it a
    // session wakes exactly that thread.
    struct Spare {
        std::condition_variable wake;
        std::function<void()> session;
    };
    void work(std::function<void()> session);

    ThreadPoolOptions options_;
    mutable std::mutex mutex_;
    std::vector<Spare*> spares_;  // the most recently parked last: its stack is warmest
    std::size_t threads_ = 0;     // every thread of the pool, busy or spare
    bool stopping_ = false;
    std::condition_variable all_exited_;
};

// Gives the pages of this thread's stack below the caller's frame back to the
// kernel (madvise): deeper calls that have returned left them resident. Call
// it where the thread will wait a long time with a shallow stack.
void release_unused_stack();

}  // namespace socks
