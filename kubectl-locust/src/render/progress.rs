//! One-line live progress and the end-of-test summary (`run --wait`, `run --local`).
