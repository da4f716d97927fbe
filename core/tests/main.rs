//! The core's integration tests: one binary (the core and its dependencies linked once), a
//! module per subject. Real parts throughout: SQLite files, ONNX Runtime with the test model,
//! real folders, inotify, mounts where the machine allows them.

mod common;
mod hostile;

mod actions;
mod background_index;
mod browse;
mod duplicates;
mod formats;
mod fuzz_decode;
mod hostile_files;
mod hub;
mod library;
mod offline;
mod structure;
mod truth;
mod watch;
mod words;
