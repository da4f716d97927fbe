//! End-to-end tests of the `clipstream` binary: one test binary (the core linked once), a module
//! per subject.

mod cli;
mod robustness;
