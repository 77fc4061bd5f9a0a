#ifndef SLICERBRIDGE_CLIENT_IMPL_CLIENT_IPP
#define SLICERBRIDGE_CLIENT_IMPL_CLIENT_IPP

#include <slicerbridge/client.hpp>

// The explicit instantiations that client.hpp declares.
namespace slicerbridge {
namespace detail {
template class client_impl<any_stream>;
}
template class basic_client<any_stream>;
} // namespace slicerbridge

#endif
