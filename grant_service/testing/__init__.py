"""Test infrastructure shared by the tests and the benchmarks."""
