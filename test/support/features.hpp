#ifndef SLICERBRIDGE_TEST_SUPPORT_FEATURES_HPP
#define SLICERBRIDGE_TEST_SUPPORT_FEATURES_HPP
// Test cases that need a feature a build may lack (the Windows cross build has no zstd or lz4):
// skipped there, and counted as skipped in doctest's summary.

#include <slicerbridge/compression.hpp>

#include <doctest/doctest.h>

namespace test_support {

/// Skips the test case unless the build has both bulk codecs.
inline doctest::skip skip_without_codecs() {
    namespace sb = slicerbridge;
    return doctest::skip(!(sb::codec_set::all() == sb::codec_set{sb::codec::zstd, sb::codec::lz4}));
}

} // namespace test_support

#endif
