// Encodes and decodes a small image through the umbrella header: proof that the exported
// target carries every include path and library a consumer needs.
#include <slicerbridge.hpp>

#include <cstdio>

int main() {
    using namespace slicerbridge;
    auto sent = image::adopt(std::vector<std::int16_t>{1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
    auto frame = encode_frame(to_value(sent));
    auto bytes = frame.to_bytes();
    frame_reader reader;
    reader.consume(bytes.data(), bytes.size());
    if (!reader.done()) {
        return 1;
    }
    std::error_code ec;
    auto received = reader.release();
    auto decoded = image::from_value(decode_frame(received, limits{}, codec_set{}, ec), ec);
    std::printf("%s\n", !ec && decoded == sent ? "round trip ok" : "round trip FAILED");
    return !ec && decoded == sent ? 0 : 1;
}
