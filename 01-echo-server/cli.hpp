// A small command-line parser shared by every chapter's program, so that all of
// them start the same way: `--listen HOST:PORT`, `--help`, and the chapter's own flags.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "net.hpp"

namespace socks {

class CommandLine {
  public:
    CommandLine(std::string program, std::string summary);

    // `on_value` receives the option's argument; it throws std::invalid_argument
    // with a short reason when the value is bad. Options may be repeated.
    void add_option(std::string name, std::string value_name, std::string help,
                    std::function<void(const std::string&)> on_value);
    void add_flag(std::string name, std::string help, std::function<void()> on_set);

    // Returns the exit status when the program should stop now (after --help: 0,
    // after a usage error: 2), or nullopt to go on.
    std::optional<int> parse(int argc, char** argv);
    std::string usage() const;

  private:
    struct Option {
        std::string name, value_name, help;
        std::function<void(const std::string&)> on_value;  // empty for flags
        std::function<void()> on_set;
    };
    std::string program_, summary_;
    std::vector<Option> options_;
};

// `--listen HOST:PORT`, default 127.0.0.1:1080.
void add_listen_option(CommandLine& cli, Endpoint& listen);

}  // namespace socks
