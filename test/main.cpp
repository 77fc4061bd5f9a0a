#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support/child_modes.hpp"

int main(int argc, char** argv) {
    test_support::program_path() = argv[0];
    if (argc == 2) {
        const int status = test_support::run_child_mode(argv[1]);
        if (status >= 0) {
            return status;
        }
    }
    return doctest::Context(argc, argv).run();
}
