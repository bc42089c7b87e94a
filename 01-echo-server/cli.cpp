#include "cli.hpp"

#include <cstdio>
#include <stdexcept>

namespace socks {

CommandLine::CommandLine(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
    add_flag("--help", "show this help and exit", [] {});
}

void CommandLine::add_option(std::string name, std::string value_name, std::string help,
                             std::function<void(const std::string&)> on_value) {
    options_.push_back(
        {std::move(name), std::move(value_name), std::move(help), std::move(on_value), nullptr});
}

void CommandLine::add_flag(std::string name, std::string help, std::function<void()> on_set) {
    options_.push_back({std::move(name), "", std::move(help), nullptr, std::move(on_set)});
}

std::string CommandLine::usage() const {
    std::string text = "usage: " + program_ + " [options]\n" + summary_ + "\n\noptions:\n";
    for (const Option& option : options_) {
        std::string left = "  " + option.name;
        if (!option.value_name.empty()) left += " " + option.value_name;
        if (left.size() < 28)
            left.resize(28, ' ');
        else
            left += "\n" + std::string(28, ' ');
        text += left + option.help + "\n";
    }
    return text;
}

std::optional<int> CommandLine::parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage().c_str(), stdout);
            return 0;
        }
        // Accept both "--name value" and "--name=value".
        std::string value;
        bool has_inline_value = false;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_inline_value = true;
        }
        const Option* found = nullptr;
        for (const Option& option : options_) {
            if (option.name == arg) found = &option;
        }
        if (found == nullptr) {
            std::fprintf(stderr, "%s: unknown option '%s'\n%s", program_.c_str(), arg.c_str(),
                         usage().c_str());
            return 2;
        }
        try {
            if (found->on_set) {
                found->on_set();
                continue;
            }
            if (!has_inline_value) {
                if (i + 1 >= argc)
                    throw std::invalid_argument("needs a value " + found->value_name);
                value = argv[++i];
            }
            found->on_value(value);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "%s: %s: %s\n", program_.c_str(), arg.c_str(), error.what());
            return 2;
        }
    }
    return std::nullopt;
}

void add_listen_option(CommandLine& cli, Endpoint& listen) {
    listen = Endpoint{"127.0.0.1", 1080};
    cli.add_option("--listen", "HOST:PORT",
                   "address to listen on (default 127.0.0.1:1080; port 0 picks a free port)",
                   [&listen](const std::string& value) {
                       auto endpoint = parse_endpoint(value);
                       if (!endpoint) {
                           throw std::invalid_argument("expected HOST:PORT or [IPv6]:PORT, got '" +
                                                       value + "'");
                       }
                       listen = *endpoint;
                   });
}

}  // namespace socks
