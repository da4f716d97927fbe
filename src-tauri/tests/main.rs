//! The desktop app's tests: one test binary (Tauri and the core linked once), a module per subject.

mod commands;
mod offline;
mod security;
