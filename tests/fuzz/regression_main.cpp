// The fuzz targets without libFuzzer: feeds every file named on the command
// line (or found in a directory named there) to LLVMFuzzerTestOneInput once.
// Built in every build and run by ctest (label fuzz), so the seed corpus and
// every crash the fuzzers ever found keep passing with any compiler.
#include <dirent.h>

#include <sys/stat.h>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::string> files_in(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return {};
    if (!S_ISDIR(info.st_mode)) return {path};
    std::vector<std::string> files;
    if (DIR* dir = ::opendir(path.c_str())) {
        while (dirent* entry = ::readdir(dir)) {
            std::string name = entry->d_name;
            // README and other dot/text notes are not inputs.
            if (name.starts_with('.') || name.ends_with(".md")) continue;
            files.push_back(path + "/" + name);
        }
        ::closedir(dir);
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t total = 0;
    for (int i = 1; i < argc; ++i) {
        std::vector<std::string> files = files_in(argv[i]);
        for (const std::string& file : files) {
            std::ifstream in(file, std::ios::binary);
            std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
            // An empty input is a valid test case; data() may be null then.
            static const std::uint8_t none = 0;
            LLVMFuzzerTestOneInput(
                bytes.empty() ? &none : reinterpret_cast<const std::uint8_t*>(bytes.data()),
                bytes.size());
        }
        std::printf("%zu inputs from %s\n", files.size(), argv[i]);
        total += files.size();
    }
    if (total == 0) {
        std::fprintf(stderr, "no inputs found: the corpus is missing\n");
        return 1;
    }
    std::printf("%zu inputs, no crash\n", total);
    return 0;
}
