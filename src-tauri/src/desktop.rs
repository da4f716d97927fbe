//! Handing a photo to the desktop: open it in the default viewer, or show it in the file manager.
//! The path is passed to the program as one argument, never through a shell.

use std::path::Path;
use std::process::Command;

use crate::error::{ApiError, ApiResult};

pub fn open(path: &Path) -> ApiResult<()> {
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("explorer");
        c.arg("/open,");
        c
    } else {
        Command::new("xdg-open")
    };
    launch(command.arg(path))
}

#[cfg(target_os = "macos")]
pub fn reveal(path: &Path) -> ApiResult<()> {
    launch(Command::new("open").arg("-R").arg(path))
}

#[cfg(windows)]
pub fn reveal(path: &Path) -> ApiResult<()> {
    let mut arg = std::ffi::OsString::from("/select,");
    arg.push(path);
    launch(Command::new("explorer").arg(arg))
}

#[cfg(all(unix, not(target_os = "macos")))]
pub fn reveal(path: &Path) -> ApiResult<()> {
    // Freedesktop file managers select the file when asked over D-Bus; others get the folder.
    let shown = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.FileManager1",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
        ])
        .arg(format!("array:string:{}", file_uri(path)))
        .arg("string:")
        .output()
        .is_ok_and(|o| o.status.success());
    if shown {
        return Ok(());
    }
    let folder = path.parent().unwrap_or(path);
    launch(Command::new("xdg-open").arg(folder))
}

fn launch(command: &mut Command) -> ApiResult<()> {
    let mut child = command
        .spawn()
        .map_err(|e| ApiError::new("desktop", format!("could not start {command:?}: {e}")))?;
    // Reap the launcher when it exits, without making the user wait for the viewer.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(all(unix, not(target_os = "macos")))]
/// A `file://` URI with every byte outside the unreserved set percent-encoded (commas included,
/// since dbus-send splits array items on them).
fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    #[test]
    fn file_uris_escape_everything_unusual() {
        assert_eq!(
            file_uri(Path::new("/home/a b/été,1.jpg")),
            "file:///home/a%20b/%C3%A9t%C3%A9%2C1.jpg"
        );
    }
}
