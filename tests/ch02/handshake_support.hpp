// Helpers shared by the chapter 02 and chapter 03 tests (chapter 03 compiles
// handshake_support.cpp too). Nothing here knows about SOCKS beyond capture steps.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include "capture.hpp"
#include "net.hpp"

namespace socks::test {

inline constexpr std::array kAllSplits{Split::AsRecorded, Split::ByteByByte, Split::Coalesced};
std::string split_name(Split split);           // "AsRecorded", ...
void PrintTo(Split split, std::ostream* out);  // names it in gtest's output

// The steps of `capture` up to and including the first step named `last`, and a
// "S> (close)" that follows it directly. The chapter 04 captures go on with a
// request; chapters 02 and 03 understand only their beginning.
Capture through_step(const Capture& capture, std::string_view last);

// The bytes of the first step named `name`, or nothing when there is none.
Bytes step_bytes(const Capture& capture, std::string_view name);

// "04-curl-socks5-ipv4.txt" -> "curl_socks5_ipv4", for test names.
std::string capture_test_name(const std::string& file);

// What a chapter program writes to stdout after its "listening on" line (which
// ServerProcess has already read): the hex dumps of chapters 02 and 03.
// Linux lets another process open a second read end of the same pipe through
// /proc/PID/fd/1, so the tests need nothing from ServerProcess to see it.
class ProgramStdout {
  public:
    explicit ProgramStdout(pid_t pid);

    // Reads until everything read so far contains `needle`; false when
    // `timeout` passes first or the program closes its stdout.
    bool wait_for(std::string_view needle,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Reads whatever is already in the pipe, without waiting.
    const std::string& text();

  private:
    bool read_once(int timeout_ms);

    Fd pipe_;
    std::string text_;
};

}  // namespace socks::test
