"""What tests, benchmarks and users' test suites share: real servers on free ports and clients bound to them."""
