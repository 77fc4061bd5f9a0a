// slicerbridge::tls: Asio's SSL functions, for programs built with ASIO_SEPARATE_COMPILATION
// (slicerbridge::compiled); a header-only program has its own copies and uses none of these.
#include <asio/ssl/impl/src.hpp>
