//! Giving memory back to the system. ONNX Runtime allocates the model's weights and buffers
//! through the C allocator; glibc keeps what it frees (measured here: after the ViT-B/32 vision
//! session is dropped, 419 of its ~500 MB stayed resident) unless large blocks are mapped on
//! their own, which glibc stops doing once it has freed one (its threshold then rises to 32 MB).
//! The one place in ClipStream with `unsafe`: two glibc calls without preconditions.

/// Blocks of this size or more get their own mapping, returned to the system when freed (glibc's
/// starting threshold, made fixed instead of rising).
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// Call first thing in `main`: large allocations are returned to the system when freed.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only changes allocator parameters; any value is accepted or refused.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Hand freed heap memory back to the system now (after a big model is dropped).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
