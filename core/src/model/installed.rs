//! The files an installed ClipStream ships beside its executables.
//!
//! The .deb (`make package`) puts the app and the CLI in `/usr/bin/` and everything else in
//! `/usr/lib/clipstream/`: ONNX Runtime, the demo model and the demo photos. They are found from
//! the running executable's own path, so no `LD_LIBRARY_PATH` and no per-user set-up is needed,
//! and an unpacked package works from any root (`dpkg-deb -x pkg.deb /tmp/root`).

use std::path::{Path, PathBuf};

/// `lib/clipstream` beside the executable's `bin/` folder, whether or not it exists.
pub fn lib_dir_for(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    let prefix = bin.parent()?;
    Some(prefix.join("lib").join("clipstream"))
}

/// The running executable's `lib/clipstream` folder, if it exists (an installed package).
pub fn lib_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    lib_dir_for(&exe).filter(|dir| dir.is_dir())
}

/// The demo model the package ships (the small test model that knows coloured shapes).
pub fn demo_model() -> Option<PathBuf> {
    lib_dir()
        .map(|dir| dir.join("demo").join("model"))
        .filter(|dir| dir.join(crate::model::MANIFEST).is_file())
}

/// The generated photos the demo indexes on its first start.
pub fn demo_photos() -> Option<PathBuf> {
    lib_dir()
        .map(|dir| dir.join("demo").join("photos"))
        .filter(|dir| dir.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_folder_is_lib_clipstream_beside_bin() {
        assert_eq!(
            lib_dir_for(Path::new("/usr/bin/clipstream")),
            Some(PathBuf::from("/usr/lib/clipstream"))
        );
        assert_eq!(
            lib_dir_for(Path::new("/tmp/root/usr/bin/clipstream-app")),
            Some(PathBuf::from("/tmp/root/usr/lib/clipstream"))
        );
        assert_eq!(lib_dir_for(Path::new("clipstream")), None);
    }

    #[test]
    fn a_build_tree_is_not_an_installed_package() {
        // target/debug/deps/<test> has no lib/clipstream beside it.
        assert_eq!(demo_model(), None);
        assert_eq!(demo_photos(), None);
    }
}
