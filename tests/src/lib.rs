//! End-to-end tests of the lifted kit live in `tests/tests/`.
