#include "proc_stats.hpp"

#include <dirent.h>

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

namespace {

// "Name:   value kB" lines of a /proc file, as numbers.
std::uint64_t field(const std::string& path, const std::string& name) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, name.size() + 1, name + ":") == 0)
            return std::stoull(line.substr(name.size() + 1));
    }
    return 0;
}

std::vector<pid_t> list_numeric(const std::string& directory) {
    std::vector<pid_t> numbers;
    if (DIR* dir = ::opendir(directory.c_str())) {
        while (dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9')
                numbers.push_back(static_cast<pid_t>(std::stol(entry->d_name)));
        }
        ::closedir(dir);
    }
    return numbers;
}

pid_t parent_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) return -1;
    std::istringstream rest(text.substr(close + 2));
    char state;
    pid_t parent = -1;
    rest >> state >> parent;
    return parent;
}

}  // namespace

ProcessStats read_process_tree(pid_t root) {
    if (list_numeric("/proc/" + std::to_string(root) + "/task").empty())
        throw std::runtime_error("no process " + std::to_string(root));
    std::map<pid_t, pid_t> parents;
    for (pid_t pid : list_numeric("/proc"))
        parents[pid] = parent_of(pid);
    std::vector<pid_t> tree{root};
    for (std::size_t i = 0; i < tree.size(); ++i) {
        for (auto [pid, parent] : parents) {
            if (parent == tree[i]) tree.push_back(pid);
        }
    }
    ProcessStats stats;
    for (pid_t pid : tree) {
        std::string base = "/proc/" + std::to_string(pid);
        stats.rss_kib += field(base + "/status", "VmRSS");
        stats.threads += field(base + "/status", "Threads");
        stats.pss_kib += field(base + "/smaps_rollup", "Pss");
        stats.fds += list_numeric(base + "/fd").size();
        ++stats.processes;
    }
    return stats;
}

}  // namespace bench
