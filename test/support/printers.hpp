#ifndef SLICERBRIDGE_TEST_SUPPORT_PRINTERS_HPP
#define SLICERBRIDGE_TEST_SUPPORT_PRINTERS_HPP

// Lets doctest print the library's types in failed assertions.

#include <doctest/doctest.h>

#include <ostream>
#include <system_error>

#endif
