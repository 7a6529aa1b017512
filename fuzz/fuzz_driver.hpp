// A standalone mutational driver with libFuzzer's entry point, for compilers without
// libFuzzer support for this project: clang 14 (the only clang on Debian 12) cannot compile
// libstdc++ 12's <expected>, so the fuzz targets build with g++ -fsanitize=address,undefined
// and this driver feeds them seeds and mutations of seeds (no coverage guidance).
//
// Usage: <target> [-max_total_time=SECONDS] [-seed=N] [-artifact_prefix=DIR/] SEED_FILE_OR_DIR...
// A target that crashes aborts the process; the input being run is kept first in
// <artifact_prefix>current-input so the crash can be replayed: <target> FILE.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
