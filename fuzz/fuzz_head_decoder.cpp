// libFuzzer target: the head decoder (wire/codec.hpp, detail/head_decoder.hpp), on a head and a
// bulk split from the input as fuzz/common.hpp says, under limits and codecs the input picks.
// Whatever it accepts must encode canonically and decode back to the same bytes; it must report
// only the errors its contract names.

#include "common.hpp"

#include <slicerbridge/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>

namespace sb = slicerbridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::optional<fuzz::frame_input> in = fuzz::split_input(data, size);
    if (!in) {
        return 0;
    }
    std::error_code ec;
    const sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    if (ec) {
        FUZZ_CHECK(ec == sb::error::invalid_message || ec == sb::error::frame_too_large ||
                   ec == sb::error::unsupported_codec);
        return 0;
    }
    FUZZ_CHECK(!head.is_nil() || in->head.size() == 1); // only a lone nil decodes to nil
    fuzz::check_round_trip(head);
    return 0;
}
