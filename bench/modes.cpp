#include "modes.hpp"

#include <netinet/in.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "proc_stats.hpp"
#include "targets.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;
using socks::Fd;

namespace {

std::string json_string(const std::string& text) {
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return quoted + "\"";
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The value below which a fraction `q` of the samples fall (nearest rank).
double percentile(std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Keeps the first error message of several threads.
class FirstError {
  public:
    void set(const std::string& message) {
        std::lock_guard lock(mutex_);
        if (message_.empty()) message_ = message;
        ++count_;
    }
    std::string message() const {
        std::lock_guard lock(mutex_);
        return message_;
    }
    std::uint64_t count() const {
        std::lock_guard lock(mutex_);
        return count_;
    }

  private:
    mutable std::mutex mutex_;
    std::string message_;
    std::uint64_t count_ = 0;
};

int finish(ResultLine& line, const FirstError& errors) {
    line.add("errors", errors.count());
    line.add("ok", errors.count() == 0);
    if (errors.count() > 0) line.add("error", errors.message());
    line.print();
    return errors.count() == 0 ? 0 : 1;
}

}  // namespace

ResultLine::ResultLine(const BenchOptions& options) {
    text_ = "{\"mode\":" + json_string(options.mode);
    if (!options.label.empty()) text_ += ",\"label\":" + json_string(options.label);
    text_ += ",\"via\":" + json_string(options.route.proxy ? "proxy" : "direct");
}

ResultLine& ResultLine::add(const std::string& key, double value) {
    char number[64];
    std::snprintf(number, sizeof number, "%.3f", value);
    text_ += "," + json_string(key) + ":" + number;
    return *this;
}

ResultLine& ResultLine::add(const std::string& key, std::uint64_t value) {
    text_ += "," + json_string(key) + ":" + std::to_string(value);
    return *this;
}

ResultLine& ResultLine::add(const std::string& key, const std::string& value) {
    text_ += "," + json_string(key) + ":" + json_string(value);
    return *this;
}

ResultLine& ResultLine::add(const std::string& key, bool value) {
    text_ += "," + json_string(key) + ":" + (value ? "true" : "false");
    return *this;
}

void ResultLine::print() const {
    std::printf("%s}\n", text_.c_str());
    std::fflush(stdout);
}

// N streams at once, each `bytes` long, every byte compared with the pattern
// at the receiving end. The clock runs from the moment every stream is set up
// (the SOCKS handshakes are not part of it) until the last byte arrives.
int run_throughput(const BenchOptions& options) {
    ResultLine line(options);
    line.add("direction", std::string(options.upload ? "up" : "down"))
        .add("streams", static_cast<std::uint64_t>(options.streams))
        .add("bytes_per_stream", options.bytes);
    FirstError errors;
    std::unique_ptr<SourceTarget> source;
    std::unique_ptr<SinkTarget> sink;
    std::uint16_t port;
    if (options.upload) {
        sink = std::make_unique<SinkTarget>(options.bytes);
        sink->start();
        port = sink->port();
    } else {
        source = std::make_unique<SourceTarget>(options.bytes);
        source->start();
        port = source->port();
    }
    const Pattern& pattern = Pattern::get();
    std::vector<Fd> streams;
    try {
        for (int i = 0; i < options.streams; ++i)
            streams.push_back(open_stream(options.route, port));
    } catch (const std::exception& error) {
        errors.set(std::string("setup: ") + error.what());
        return finish(line, errors);
    }

    std::latch ready(options.streams + 1);
    std::vector<std::thread> threads;
    for (Fd& stream : streams) {
        threads.emplace_back([&, fd = stream.get()] {
            ready.arrive_and_wait();
            try {
                if (options.upload) {
                    std::uint64_t sent = 0;
                    while (sent < options.bytes) {
                        auto chunk = static_cast<std::size_t>(
                            std::min<std::uint64_t>(options.bytes - sent, 256 * 1024));
                        ssize_t n = ::send(fd, pattern.at(sent), chunk, MSG_NOSIGNAL);
                        if (n < 0 && errno == EINTR) continue;
                        if (n < 0) socks::throw_errno("send");
                        sent += static_cast<std::uint64_t>(n);
                    }
                    return;
                }
                std::uint8_t go = 'g';
                if (::send(fd, &go, 1, MSG_NOSIGNAL) != 1) socks::throw_errno("send");
                std::vector<std::uint8_t> buffer(256 * 1024);
                std::uint64_t received = 0;
                while (received < options.bytes) {
                    auto want = static_cast<std::size_t>(
                        std::min<std::uint64_t>(options.bytes - received, buffer.size()));
                    ssize_t n = ::recv(fd, buffer.data(), want, 0);
                    if (n < 0 && errno == EINTR) continue;
                    if (n < 0) socks::throw_errno("recv");
                    if (n == 0)
                        throw std::runtime_error("stream ended after " + std::to_string(received) +
                                                 " bytes");
                    if (std::memcmp(buffer.data(), pattern.at(received),
                                    static_cast<std::size_t>(n)) != 0)
                        throw std::runtime_error("wrong byte within offsets " +
                                                 std::to_string(received) + "..+" +
                                                 std::to_string(n));
                    received += static_cast<std::uint64_t>(n);
                }
            } catch (const std::exception& error) {
                errors.set(error.what());
            }
        });
    }
    ready.arrive_and_wait();
    auto start = Clock::now();
    for (std::thread& thread : threads)
        thread.join();
    if (options.upload && errors.count() == 0) {
        std::string error;
        if (!sink->wait(options.streams, std::chrono::minutes(10), error)) errors.set(error);
    }
    double seconds = seconds_since(start);
    std::uint64_t total = options.bytes * static_cast<std::uint64_t>(options.streams);
    line.add("seconds", seconds).add("mb_per_s", static_cast<double>(total) / seconds / 1e6);
    line.add("verified", errors.count() == 0);
    return finish(line, errors);
}

// C workers each loop: connect, greeting, (login), CONNECT, one byte echoed,
// close. Setup latency runs from connect() to the CONNECT reply.
int run_connrate(const BenchOptions& options) {
    ResultLine line(options);
    line.add("workers", static_cast<std::uint64_t>(options.workers))
        .add("auth", options.route.user.has_value());
    EchoTarget echo;
    echo.start();
    FirstError errors;
    std::vector<std::vector<double>> setup(static_cast<std::size_t>(options.workers));
    auto start = Clock::now();
    auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.seconds));
    std::vector<std::thread> threads;
    for (auto& samples : setup) {
        threads.emplace_back([&] {
            samples.reserve(200000);
            while (Clock::now() < deadline) {
                try {
                    auto opened = Clock::now();
                    Fd stream = open_stream(options.route, echo.port());
                    samples.push_back(
                        std::chrono::duration<double, std::micro>(Clock::now() - opened).count());
                    std::uint8_t byte = 'x';
                    socks::write_all(stream, socks::ByteView(&byte, 1));
                    if (!socks::read_exact(stream, {&byte, 1}) || byte != 'x')
                        throw std::runtime_error("the echoed byte did not come back");
                } catch (const std::exception& error) {
                    errors.set(error.what());
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                }
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    double seconds = seconds_since(start);
    std::vector<double> all;
    for (auto& samples : setup)
        all.insert(all.end(), samples.begin(), samples.end());
    std::sort(all.begin(), all.end());
    line.add("seconds", seconds)
        .add("connections", static_cast<std::uint64_t>(all.size()))
        .add("per_s", static_cast<double>(all.size()) / seconds)
        .add("setup_p50_us", percentile(all, 0.50))
        .add("setup_p99_us", percentile(all, 0.99));
    return finish(line, errors);
}

// One connection, `size` bytes sent and echoed back, `count` times in a row.
int run_latency(const BenchOptions& options) {
    ResultLine line(options);
    line.add("size", static_cast<std::uint64_t>(options.size))
        .add("count", static_cast<std::uint64_t>(options.count))
        .add("pinned_cpu", static_cast<double>(options.pin_cpu));
    EchoTarget echo;
    echo.start();
    FirstError errors;
    std::vector<double> rtt;
    try {
        if (options.pin_cpu >= 0) {
            cpu_set_t cpus;
            CPU_ZERO(&cpus);
            CPU_SET(options.pin_cpu, &cpus);
            if (::sched_setaffinity(0, sizeof cpus, &cpus) < 0)
                socks::throw_errno("sched_setaffinity");
        }
        Fd stream = open_stream(options.route, echo.port());
        std::vector<std::uint8_t> message(options.size), echoed(options.size);
        for (std::size_t i = 0; i < message.size(); ++i)
            message[i] = static_cast<std::uint8_t>(i * 7);
        int warmup = std::min(1000, options.count / 10);
        rtt.reserve(static_cast<std::size_t>(options.count));
        for (int i = 0; i < warmup + options.count; ++i) {
            message[0] = static_cast<std::uint8_t>(i);
            auto sent = Clock::now();
            socks::write_all(stream, socks::ByteView(message));
            if (!socks::read_exact(stream, echoed)) throw std::runtime_error("echo closed early");
            if (i >= warmup)
                rtt.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
            if (echoed != message) throw std::runtime_error("the echo differs from the message");
        }
    } catch (const std::exception& error) {
        errors.set(error.what());
    }
    std::sort(rtt.begin(), rtt.end());
    double sum = 0;
    for (double value : rtt)
        sum += value;
    line.add("p50_us", percentile(rtt, 0.50))
        .add("p99_us", percentile(rtt, 0.99))
        .add("p999_us", percentile(rtt, 0.999))
        .add("mean_us", rtt.empty() ? 0.0 : sum / static_cast<double>(rtt.size()));
    return finish(line, errors);
}

// N sessions set up (each proves itself with one echoed byte) and left idle;
// the server's memory, threads and descriptors before and after; every session
// checked again; all closed; and whether the server gave its threads and
// descriptors back.
int run_idle(const BenchOptions& options) {
    ResultLine line(options);
    FirstError errors;
    ProcessStats before, held, after;
    try {
        before = read_process_tree(options.server_pid);
    } catch (const std::exception& error) {
        errors.set(error.what());
        return finish(line, errors);
    }
    std::vector<Fd> sessions;
    sessions.reserve(static_cast<std::size_t>(options.sessions));
    auto start = Clock::now();
    try {
        for (int i = 0; i < options.sessions; ++i) {
            Fd stream = open_stream(options.route, options.echo_port);
            std::uint8_t byte = static_cast<std::uint8_t>(i);
            socks::write_all(stream, socks::ByteView(&byte, 1));
            if (!socks::read_exact(stream, {&byte, 1}))
                throw std::runtime_error("session " + std::to_string(i) + " closed early");
            sessions.push_back(std::move(stream));
        }
    } catch (const std::exception& error) {
        errors.set("after " + std::to_string(sessions.size()) + " sessions: " + error.what());
    }
    double setup_seconds = seconds_since(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // let the server settle
    try {
        held = read_process_tree(options.server_pid);
    } catch (const std::exception& error) {
        errors.set(std::string("server gone: ") + error.what());
    }
    // Every session still works: one more byte each way on all of them.
    std::uint64_t alive = 0;
    for (Fd& session : sessions) {
        std::uint8_t byte = 'i';
        if (::send(session.get(), &byte, 1, MSG_NOSIGNAL) != 1)
            errors.set("send on a held session");
    }
    for (Fd& session : sessions) {
        std::uint8_t byte = 0;
        socks::set_receive_timeout(session, std::chrono::seconds(10));
        try {
            if (socks::read_exact(session, {&byte, 1}) && byte == 'i') {
                ++alive;
                continue;
            }
        } catch (const std::exception&) {
        }
        errors.set("a held session stopped echoing");
    }
    std::size_t count = sessions.size();
    sessions.clear();  // close them all
    // Wait (at most 10 s) for the server to give back the threads and
    // descriptors it took.
    auto closed = Clock::now();
    bool returned = false;
    while (seconds_since(closed) < 10) {
        try {
            after = read_process_tree(options.server_pid);
        } catch (const std::exception&) {
            break;
        }
        if (after.fds <= before.fds && after.threads <= before.threads) {
            returned = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double n = count > 0 ? static_cast<double>(count) : 1.0;
    auto per = [n](std::uint64_t a, std::uint64_t b) {
        return (static_cast<double>(a) - static_cast<double>(b)) / n;
    };
    line.add("sessions", static_cast<std::uint64_t>(count))
        .add("alive", alive)
        .add("setup_seconds", setup_seconds)
        .add("processes", static_cast<std::uint64_t>(held.processes))
        .add("rss_kib_before", before.rss_kib)
        .add("rss_kib_held", held.rss_kib)
        .add("rss_kib_per_session", per(held.rss_kib, before.rss_kib))
        .add("pss_kib_per_session", per(held.pss_kib, before.pss_kib))
        .add("threads_before", before.threads)
        .add("threads_held", held.threads)
        .add("fds_before", before.fds)
        .add("fds_held", held.fds)
        .add("fds_per_session", per(held.fds, before.fds))
        .add("threads_after", after.threads)
        .add("fds_after", after.fds)
        .add("returned", returned);
    if (static_cast<int>(count) < options.sessions && errors.count() == 0)
        errors.set("fewer sessions than asked for");
    return finish(line, errors);
}

}  // namespace bench
