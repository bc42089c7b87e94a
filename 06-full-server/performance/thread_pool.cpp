#include "thread_pool.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "server.hpp"

namespace socks {

namespace {
constexpr std::chrono::milliseconds kTrimAfter{50};
}  // namespace

ThreadPool::~ThreadPool() {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    for (Spare* spare : spares_)
        spare->wake.notify_one();
    all_exited_.wait(lock, [this] { return threads_ == 0; });
}

std::size_t ThreadPool::spare() const {
    std::lock_guard lock(mutex_);
    return spares_.size();
}

bool ThreadPool::run(std::function<void()> session) {
    {
        std::lock_guard lock(mutex_);
        if (!spares_.empty()) {
            Spare* spare = spares_.back();
            spares_.pop_back();
            spare->session = std::move(session);
            spare->wake.notify_one();
            return true;
        }
        ++threads_;
    }
    auto body = [this, first = std::move(session)]() mutable { work(std::move(first)); };
    if (start_thread(std::move(body), options_.stack_size)) return true;
    std::lock_guard lock(mutex_);
    --threads_;
    all_exited_.notify_all();
    return false;
}

// [docs:spare-thread]
void ThreadPool::work(std::function<void()> session) {
    Spare self;  // lives on this thread's stack, as long as it is in spares_
    auto handed = [&] { return self.session != nullptr || stopping_; };
    std::unique_lock lock(mutex_, std::defer_lock);
    for (;;) {
        session();
        session = nullptr;  // what it captured goes now, not when the next one comes
        lock.lock();
        if (stopping_ || spares_.size() >= options_.max_spare) break;
        spares_.push_back(&self);
        // Under load the next session comes within microseconds. If none came
        // for a while, give back the stack pages the last session used (a
        // syscall not worth making for every session), then wait on.
        if (!self.wake.wait_for(lock, kTrimAfter, handed)) {
            lock.unlock();
            release_unused_stack();
            lock.lock();
            self.wake.wait_for(lock, options_.spare_for, handed);
        }
        if (self.session == nullptr) {  // unused for too long, or stopping
            std::erase(spares_, &self);
            break;
        }
        session = std::move(self.session);  // run() took us off spares_
        self.session = nullptr;
        lock.unlock();
    }
    --threads_;
    all_exited_.notify_all();
    // The lock is released on return. From then on the destructor may free the
    // pool, and this thread touches nothing of it.
}
// [/docs:spare-thread]

namespace {
// The stack pointer where this is inlined: everything below it is dead stack,
// frames of calls that have returned.
[[gnu::always_inline]] inline std::uintptr_t stack_pointer() {
    std::uintptr_t sp;
#if defined(__x86_64__)
    asm volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    asm volatile("mov %0, sp" : "=r"(sp));
#else
    // Unknown: a generous guess, which keeps a page or so more than needed.
    sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) - 8192;
#endif
    return sp;
}
}  // namespace

[[gnu::noinline]] void release_unused_stack() {
    constexpr std::uintptr_t page = 4096;
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return;
    void* low = nullptr;
    std::size_t size = 0;
    ::pthread_attr_getstack(&attr, &low, &size);
    ::pthread_attr_destroy(&attr);
    // Keep 256 bytes below the stack pointer for the call itself (its return
    // address, and the 128-byte red zone of x86-64). syscall(2) rather than
    // madvise(): sanitizers wrap madvise() in a function whose frame could lie
    // in the released range. MADV_DONTNEED on private anonymous memory: the
    // pages leave RSS at once, and read back as zeros when touched again.
    std::uintptr_t from = (reinterpret_cast<std::uintptr_t>(low) + page - 1) & ~(page - 1);
    std::uintptr_t to = (stack_pointer() - 256) & ~(page - 1);
    if (to > from) ::syscall(SYS_madvise, from, to - from, MADV_DONTNEED);
}

}  // namespace socks
