//! The desktop app's entry point; everything else is in the library so tests can reach it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    clipstream_core::return_freed_memory();
    clipstream_app::run();
}
