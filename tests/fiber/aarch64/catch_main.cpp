// Catch2 v2's main for the AArch64 cross build (header-only; the host's Catch2WithMain is x86-64).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
