// The driver of the fuzz targets in builds without libFuzzer (gcc, or clang
// without VIGIL_FUZZ): runs LLVMFuzzerTestOneInput once on every file named
// on the command line or found (not recursively) in a directory named there,
// in name order, so every build replays the seed corpora and the saved
// regression inputs. A missing argument is skipped (a target may have no
// regression directory); finding no input at all is an error.
//
//   note_fuzz tests/fuzz/corpus/note tests/fuzz/regressions/note

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // A heap copy of exactly the input's size, as libFuzzer passes it, so
  // ASan sees any read past the end.
  std::vector<uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.empty() ? nullptr : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        if (!RunFile(file)) return 1;
        ++inputs;
      }
    } else if (std::filesystem::is_regular_file(arg, error)) {
      if (!RunFile(arg)) return 1;
      ++inputs;
    } else {
      std::fprintf(stderr, "replay: skipping %s (not found)\n", argv[i]);
    }
  }
  std::fprintf(stderr, "replay: %zu inputs passed\n", inputs);
  return inputs == 0 ? 1 : 0;
}
