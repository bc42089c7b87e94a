// Spare threads (thread_pool.hpp): a finished session's thread takes the next
// session; at most max_spare wait; unused ones exit; the destructor waits for
// all of them. And socks5-server with --spare-threads gives its threads back.
#include "thread_pool.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <future>
#include <latch>
#include <set>

#include "client.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;

pid_t thread_id() {
    return static_cast<pid_t>(::syscall(SYS_gettid));
}

// Runs one session on `pool` and returns the id of the thread that ran it.
pid_t run_one(ThreadPool& pool) {
    std::promise<pid_t> ran;
    auto ran_on = ran.get_future();
    EXPECT_TRUE(pool.run([&ran] { ran.set_value(thread_id()); }));
    EXPECT_EQ(ran_on.wait_for(10s), std::future_status::ready);
    return ran_on.get();
}

TEST(ThreadPool, TheNextSessionRunsOnTheThreadTheLastOneLeft) {
    ThreadPool pool({.max_spare = 4, .spare_for = 30s});
    pid_t first = run_one(pool);
    ASSERT_TRUE(test::eventually([&] { return pool.spare() == 1; }, 10s));
    EXPECT_EQ(run_one(pool), first);
    ASSERT_TRUE(test::eventually([&] { return pool.spare() == 1; }, 10s));
    EXPECT_EQ(run_one(pool), first);
}

TEST(ThreadPool, WithNoSparesEverySessionGetsANewThread) {
    ThreadPool pool({.max_spare = 0});
    std::set<pid_t> seen;
    for (int i = 0; i < 5; ++i) {
        seen.insert(run_one(pool));
        EXPECT_EQ(pool.spare(), 0u);
    }
    // Linux hands out thread ids in increasing order (until pid_max wraps).
    EXPECT_EQ(seen.size(), 5u);
}

TEST(ThreadPool, KeepsAtMostMaxSpareThreadsWaiting) {
    constexpr int kSessions = 10;
    ThreadPool pool({.max_spare = 3, .spare_for = 30s});
    std::latch all_running(kSessions), release(1);
    std::set<pid_t> threads;
    std::mutex mutex;
    for (int i = 0; i < kSessions; ++i) {
        ASSERT_TRUE(pool.run([&] {
            {
                std::lock_guard lock(mutex);
                threads.insert(thread_id());
            }
            all_running.count_down();
            release.wait();
        }));
    }
    all_running.wait();  // ten sessions at once need ten threads
    EXPECT_EQ(threads.size(), static_cast<std::size_t>(kSessions));
    release.count_down();
    // Seven threads exit at once; three stay for the next sessions.
    ASSERT_TRUE(test::eventually([&] { return pool.spare() == 3; }, 10s));
    std::set<pid_t> reused;
    for (int i = 0; i < 3; ++i)
        reused.insert(run_one(pool));
    for (pid_t id : reused)
        EXPECT_TRUE(threads.count(id)) << "a spare thread was not one of the ten";
}

TEST(ThreadPool, ASpareThreadUnusedForSpareForExits) {
    ThreadPool pool({.max_spare = 4, .spare_for = 100ms});
    run_one(pool);
    run_one(pool);
    ASSERT_TRUE(test::eventually([&] { return pool.spare() == 0; }, 10s));
    run_one(pool);  // and a session after that still gets a thread
}

TEST(ThreadPool, DestroyingThePoolEndsItsSpareThreads) {
    auto pool = std::make_unique<ThreadPool>(ThreadPoolOptions{.max_spare = 8, .spare_for = 1h});
    std::latch all_running(5), release(1);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(pool->run([&] {
            all_running.count_down();
            release.wait();
        }));
    }
    all_running.wait();
    release.count_down();
    ASSERT_TRUE(test::eventually([&] { return pool->spare() == 5; }, 10s));
    auto destroyed = std::async(std::launch::async, [&pool] { pool.reset(); });
    EXPECT_EQ(destroyed.wait_for(10s), std::future_status::ready)
        << "the destructor did not wake the spare threads (they wait for an hour)";
}

// The program: sessions one after another are served with any number of spare
// threads, and once it has been quiet for a second the server is back to the
// threads it started with. (How many threads it has right after a session is
// not checked: a session's thread may still be finishing while the client
// starts the next one. The reuse itself is checked by the tests above.)
TEST(SpareThreadsProgram, SessionsReuseThreadsAndAQuietServerGivesThemBack) {
    test::BackgroundServer echo = test::echo_target();
    for (const char* spare : {"0", "2", "16"}) {
        SCOPED_TRACE(std::string("--spare-threads ") + spare);
        test::ServerProcess proxy("06-full-server/socks5-server", {"--spare-threads", spare});
        const int base_threads = proxy.threads();
        for (int i = 0; i < 20; ++i) {
            auto session = test::socks5_connect(proxy.endpoint(), "127.0.0.1", echo.port());
            ASSERT_EQ(session.reply, 0x00);
            const std::uint8_t ping[] = {'p', 'i', 'n', 'g'};
            write_all(session.socket, ByteView(ping));
            std::uint8_t back[4];
            ASSERT_TRUE(read_exact(session.socket, back));
        }
        EXPECT_TRUE(test::eventually([&] { return proxy.threads() == base_threads; }, 10s))
            << "threads " << proxy.threads() << ", at start " << base_threads;
        EXPECT_TRUE(proxy.wait_for_log("access client=", 10s, 20));
    }
}

}  // namespace
}  // namespace socks
