//! Telling a drive that is away from photos that are gone.
//!
//! Absence is not deletion: a library folder (or a part of one) that is missing, not mounted,
//! unreadable, or whose walk hit errors is *offline*. Its catalogued photos stay, with their
//! embeddings and thumbnails, and stay searchable (marked offline). Only a part walked cleanly, to
//! the end, counts the photos it no longer holds as gone.
//!
//! "Not mounted" is told by devices: the catalog records the device of each folder and of each
//! mount point inside it at its last clean walk. A drive in `/etc/fstab` or a network share leaves
//! an empty folder behind when it goes, on the parent's device: a part now on another device where
//! none of its catalogued photos can be found is a drive that is not there. (A drive mounted again
//! under another device number still holds its photos, so it is simply back.) A library from
//! before devices were recorded has one more rule: a folder that reads as empty where photos were.

use std::path::{Path, PathBuf};

use crate::store::catalog::FolderState;
use crate::ingest::scan::{self, Walk};

/// Why a part that was a mount point now reads as another drive, or none.
const NOT_MOUNTED: &str = "not mounted (the drive that was here is not connected)";

/// One folder's state after its walk: which parts are offline and the devices to remember.
pub(crate) struct Judgement {
    pub state: FolderState,
}

impl Judgement {
    /// Whether a catalogued file at `path` that the walk did not find may count as gone.
    pub fn proves_gone(&self, path: &Path) -> bool {
        !covered(&self.state.offline, path)
    }
}

/// Whether `path` is one of `parts` or inside one.
pub(crate) fn covered(parts: &[(PathBuf, String)], path: &Path) -> bool {
    parts.iter().any(|(part, _)| path.starts_with(part))
}

/// A folder that could not be walked at all (`reason` from [`scan::probe`]): all of it is
/// offline; the devices recorded are kept for when it comes back.
pub(crate) fn unreachable(
    folder_id: i64,
    root: &Path,
    reason: String,
    recorded: Vec<(PathBuf, u64)>,
) -> Judgement {
    Judgement {
        state: FolderState {
            folder_id,
            offline: vec![(root.to_path_buf(), reason)],
            volumes: recorded,
        },
    }
}

/// Judge a folder from its walk.
///
/// - `root_device`: the root's device before the walk; `root_after`: probed again after it (a
///   drive unplugged during the walk makes the walk's silence worthless).
/// - `recorded`: the devices its last clean walk saw.
/// - `catalogued(part)`: how many photos the catalog holds under `part`, and how many of those
///   this walk found.
pub(crate) fn judge(
    folder_id: i64,
    root: &Path,
    root_device: u64,
    walk: &Walk,
    root_after: Result<u64, String>,
    recorded: Vec<(PathBuf, u64)>,
    catalogued: &mut dyn FnMut(&Path) -> (u64, u64),
) -> Judgement {
    let mut offline = walk.unreadable.clone();
    let mut volumes: Vec<(PathBuf, u64)> = vec![(root.to_path_buf(), root_device)];
    volumes.extend(walk.mounts.iter().cloned());
    match root_after {
        Ok(device) if device == root_device => {}
        Ok(_) => offline.push((
            root.to_path_buf(),
            "changed drive while it was read (unplugged?)".into(),
        )),
        Err(reason) => offline.push((root.to_path_buf(), reason)),
    }
    let root_recorded = recorded.iter().any(|(p, _)| p == root);
    for (part, device) in &recorded {
        if covered(&offline, part) {
            // Not seen this time: remember its device for when it is back.
            volumes.retain(|(p, _)| p != part);
            volumes.push((part.clone(), *device));
            continue;
        }
        let now = volumes.iter().find(|(p, _)| p == part).map(|(_, d)| *d);
        if now == Some(*device) {
            continue;
        }
        let reason = match scan::probe(part) {
            Err(reason) => reason,
            Ok(_) => NOT_MOUNTED.to_string(),
        };
        let (held, found) = catalogued(part);
        if held > 0 && found == 0 {
            offline.push((part.clone(), reason));
            volumes.retain(|(p, _)| p != part);
            volumes.push((part.clone(), *device));
        }
        // Otherwise the drive is back under another device number (its photos are there), or
        // nothing was catalogued there: the new device is recorded.
    }
    if !root_recorded && walk.empty {
        let (held, _) = catalogued(root);
        if held > 0 {
            offline.push((
                root.to_path_buf(),
                format!("empty, where {held} photos were (a drive not mounted?)"),
            ));
        }
    }
    // A part inside another offline part says nothing more.
    offline.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: Vec<(PathBuf, String)> = Vec::with_capacity(offline.len());
    for (path, reason) in offline {
        if !covered(&kept, &path) {
            kept.push((path, reason));
        }
    }
    volumes.sort();
    volumes.dedup_by(|a, b| a.0 == b.0);
    Judgement {
        state: FolderState {
            folder_id,
            offline: kept,
            volumes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(empty: bool) -> Walk {
        Walk {
            empty,
            complete: true,
            ..Walk::default()
        }
    }

    #[test]
    fn a_part_on_another_device_with_none_of_its_photos_is_not_mounted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let here = scan::probe(root).expect("probes");
        let recorded = vec![(root.to_path_buf(), here + 1)];
        let judged = judge(
            1,
            root,
            here,
            &walk(true),
            Ok(here),
            recorded.clone(),
            &mut |_| (12, 0),
        );
        assert_eq!(
            judged.state.offline,
            vec![(root.to_path_buf(), NOT_MOUNTED.into())]
        );
        assert!(!judged.proves_gone(&root.join("a.jpg")));
        // The device to expect when it is back is the one recorded.
        assert_eq!(judged.state.volumes, recorded);
        // Back under another device number, its photos there: online, the new device recorded.
        let judged = judge(1, root, here, &walk(false), Ok(here), recorded, &mut |_| {
            (12, 3)
        });
        assert!(judged.state.offline.is_empty());
        assert_eq!(judged.state.volumes, vec![(root.to_path_buf(), here)]);
    }

    #[test]
    fn an_empty_folder_where_photos_were_is_offline_only_without_a_recorded_device() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let here = scan::probe(root).expect("probes");
        let legacy = judge(
            1,
            root,
            here,
            &walk(true),
            Ok(here),
            Vec::new(),
            &mut |_| (5, 0),
        );
        assert!(!legacy.state.offline.is_empty());
        // Same device as its last clean walk: the photos were deleted.
        let same = vec![(root.to_path_buf(), here)];
        let judged = judge(1, root, here, &walk(true), Ok(here), same, &mut |_| (5, 0));
        assert!(judged.state.offline.is_empty());
        assert!(judged.proves_gone(&root.join("a.jpg")));
    }

    #[test]
    fn unreadable_parts_and_a_drive_gone_during_the_walk_keep_their_photos() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let here = scan::probe(root).expect("probes");
        let mut w = walk(false);
        w.unreadable = vec![(root.join("a/b"), "unreadable: Input/output error".into())];
        let judged = judge(1, root, here, &w, Ok(here), Vec::new(), &mut |_| (0, 0));
        assert!(!judged.proves_gone(&root.join("a/b/c.jpg")));
        assert!(judged.proves_gone(&root.join("a/c.jpg")));
        let gone = judge(
            1,
            root,
            here,
            &w,
            Err("missing".into()),
            Vec::new(),
            &mut |_| (0, 0),
        );
        assert!(!gone.proves_gone(&root.join("a/c.jpg")));
        assert_eq!(gone.state.offline.len(), 1, "{:?}", gone.state.offline);
    }
}
