//! Watching a library's folders, so that photos added, changed, moved or deleted there are
//! indexed (or forgotten) within seconds, without a manual re-scan.
//!
//! The watcher only decides *when* to run: the run is the ordinary incremental index (an
//! unchanged file costs one `stat`), so watching adds no second way of changing the catalog.
//!
//! Drives come and go: each folder's device is looked at every second, so a drive unplugged or
//! unmounted (its folder gone, or left as an empty mount point on the parent's device) and one
//! plugged in again are noticed and said ([`WatchEvent::Drive`]); the run that follows marks the
//! folder offline, never deleting its photos ([`crate::ingest::offline`]), or reconciles it when back.
//!
//! Where inotify is weak the folder is also scanned periodically: on a network file system
//! (changes made by other machines raise no event here), when the folder is not reachable (an
//! unplugged drive: scanned again once it is back), and once the system's limit of inotify
//! watches is reached (ENOSPC, one watch per folder; the reason names the fix). A queue overflow
//! asks for a run. Hidden and system folders (`.thumbnails`, `@eaDir`, `.git`…) are never
//! watched: each folder gets a watch of its own, not a recursive one. A file still being written
//! is waited for until its size and modification time stay put.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use notify::{ErrorKind, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use serde::Serialize;
use walkdir::WalkDir;

use crate::library::Library;
use crate::ingest::scan::{kind_of, skipped_dir};
use crate::{Error, Result};

/// The reason given for folders scanned periodically because the watch limit was reached.
pub const WATCH_LIMIT_REASON: &str = "the system's limit of watched folders is reached, so this \
     folder is scanned every minute instead; to watch it, raise the limit: \
     `echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/90-clipstream.conf && \
     sudo sysctl --system`";

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after the last event before the events are taken.
    pub debounce: Duration,
    /// A changed file must keep its size and modification time this long before a run (a copy
    /// still in progress would be read as a truncated file).
    pub settle: Duration,
    /// How often folders inotify cannot follow are scanned.
    pub poll_every: Duration,
    /// Start with a run, to catch up with changes made while nothing watched (the app's window
    /// starts that run itself).
    pub catch_up: bool,
    /// Test hook: adding more watches than this fails as the system's limit does (ENOSPC).
    pub watch_limit: Option<usize>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(500),
            settle: Duration::from_secs(1),
            poll_every: Duration::from_secs(60),
            catch_up: true,
            watch_limit: None,
        }
    }
}

/// How one library folder is followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderWatch {
    pub path: PathBuf,
    /// Folders (this one and those under it) with an inotify watch.
    pub watched_folders: usize,
    /// Why it is also scanned periodically, if it is.
    pub polled: Option<String>,
}

/// What [`watch_library`] tells its caller.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// How each folder is followed (at the start and whenever that changes).
    Folders(Vec<FolderWatch>),
    /// A library folder's drive went away (`connected` false: unplugged, unmounted) or came back.
    /// Its photos are kept either way; a run follows.
    Drive { path: PathBuf, connected: bool },
    /// The folders changed: bring the library up to date (an incremental index run).
    RunDue(String),
}

impl Library {
    /// Keep the library up to date with its folders until `stop` is set. The first event is the
    /// folders' watch state, then a run to catch up with changes made while nothing watched; then
    /// a run whenever something changed. `on_event` does the runs (the CLI prints progress, the
    /// app claims its single run and tells its windows); an error from it ends the watch.
    pub fn watch(
        &self,
        options: WatchOptions,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(WatchEvent) -> Result<()>,
    ) -> Result<()> {
        watch_library(self, options, stop, on_event)
    }
}

fn watch_library(
    library: &Library,
    options: WatchOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(WatchEvent) -> Result<()>,
) -> Result<()> {
    let mut caught_up = !options.catch_up;
    let mut watcher = FolderWatcher::new(options)?;
    let mut roots: Option<Vec<PathBuf>> = None;
    while !stop.load(Ordering::SeqCst) {
        let now: Vec<PathBuf> = library.folders()?.into_iter().map(|f| f.path).collect();
        if roots.is_none() || watcher.out_of_date(&now) {
            let before = watcher.report();
            let drives = watcher.sync(&now);
            let after = watcher.report();
            for (path, connected) in drives {
                on_event(WatchEvent::Drive { path, connected })?;
            }
            if roots.is_none() || after != before {
                on_event(WatchEvent::Folders(after))?;
            }
            roots = Some(now);
        }
        // Folders added later get their first run from whoever adds them.
        if !caught_up {
            caught_up = true;
            if roots.as_ref().is_some_and(|r| !r.is_empty()) {
                on_event(WatchEvent::RunDue(
                    "catching up with changes made while nothing watched".into(),
                ))?;
            }
            continue;
        }
        if let Some(why) = watcher.wait(stop, Duration::from_secs(1)) {
            on_event(WatchEvent::RunDue(why))?;
        }
    }
    Ok(())
}

/// The inotify watches of a set of library folders, and what their events call for.
pub struct FolderWatcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    events: Receiver<DebounceEventResult>,
    options: WatchOptions,
    roots: Vec<PathBuf>,
    /// Every directory with a watch.
    watched: BTreeSet<PathBuf>,
    /// Library folders also scanned periodically, and why.
    polled: BTreeMap<PathBuf, String>,
    /// Files changed since the last run, with their last seen stamp and since when it holds.
    pending: BTreeMap<PathBuf, (Option<(u64, SystemTime)>, Instant)>,
    /// Why a run is due once `pending` has settled (`None`: no run due).
    due: Option<String>,
    /// Folders appeared, vanished or moved: the watches must follow.
    needs_sync: bool,
    /// Each of `roots` at the last sync: its device, or `None` when it could not be read.
    presence: Vec<Option<u64>>,
    /// Roots left as an empty mount point: on their parent's device since their drive went.
    unmounted: BTreeSet<PathBuf>,
    last_poll: Instant,
}

impl FolderWatcher {
    pub fn new(options: WatchOptions) -> Result<Self> {
        let (tx, events) = crossbeam_channel::unbounded();
        let debouncer = new_debouncer(options.debounce, None, tx)
            .map_err(|e| Error::Internal(format!("cannot start watching folders: {e}")))?;
        Ok(Self {
            debouncer,
            events,
            options,
            roots: Vec::new(),
            watched: BTreeSet::new(),
            polled: BTreeMap::new(),
            pending: BTreeMap::new(),
            due: None,
            needs_sync: false,
            presence: Vec::new(),
            unmounted: BTreeSet::new(),
            last_poll: Instant::now(),
        })
    }

    /// Whether the watches no longer match `roots`: folders added or removed, a folder gone or
    /// back or on another device (an unplugged drive raises no event of its own), folders made or
    /// moved inside.
    pub fn out_of_date(&self, roots: &[PathBuf]) -> bool {
        self.needs_sync || self.roots != roots || self.presence != presence(roots)
    }

    /// Watch every folder under `roots` (the library's folders) and nothing else. Returns the
    /// folders whose drive went (`false`) or came back (`true`) since the last sync.
    pub fn sync(&mut self, roots: &[PathBuf]) -> Vec<(PathBuf, bool)> {
        self.needs_sync = false;
        let presence = presence(roots);
        let mut drives = Vec::new();
        for (root, now) in roots.iter().zip(&presence) {
            let Some(i) = self.roots.iter().position(|r| r == root) else {
                continue; // new to the library: its first run comes from whoever added it
            };
            let before = self.presence[i];
            if before == *now {
                continue;
            }
            // Its watches were on the old drive (or on the empty mount point): made again below.
            let stale: Vec<PathBuf> = self
                .watched
                .iter()
                .filter(|d| owner(d, &self.roots) == Some(root))
                .cloned()
                .collect();
            for dir in stale {
                let _ = self.debouncer.unwatch(&dir);
                self.watched.remove(&dir);
            }
            let on_parent = now.is_some() && *now == root.parent().and_then(device);
            let connected = match (before, now) {
                (_, None) => false,
                (Some(_), Some(_)) if on_parent => false,
                _ => true,
            };
            if connected {
                self.unmounted.remove(root);
            } else if now.is_some() {
                self.unmounted.insert(root.clone());
            }
            drives.push((root.clone(), connected));
        }
        if !drives.is_empty() {
            let said: Vec<String> = drives
                .iter()
                .map(|(root, connected)| {
                    let how = if *connected {
                        "connected"
                    } else {
                        "not connected"
                    };
                    format!("{} {how}", root.display())
                })
                .collect();
            // Back, it may hold anything; gone, its folder is marked offline (photos kept).
            self.due = Some(format!("drive changed: {}", said.join(", ")));
        }
        self.roots = roots.to_vec();
        self.presence = presence;
        self.unmounted.retain(|r| roots.contains(r));
        self.polled.clear();
        let mut wanted = BTreeSet::new();
        let mut limit_reached = false;
        for (root, present) in roots.iter().zip(self.presence.clone()) {
            if present.is_none() || self.unmounted.contains(root) {
                self.polled.insert(
                    root.clone(),
                    "not connected (an unplugged drive?): checked every minute, its photos kept"
                        .into(),
                );
                continue;
            }
            if let Some(fs) = network_file_system(root) {
                self.polled.insert(
                    root.clone(),
                    format!(
                        "on a {fs} file system, where changes made elsewhere raise no event: \
                         also scanned every minute"
                    ),
                );
            }
            for dir in folders_under(root, roots) {
                if self.watched.contains(&dir) {
                    wanted.insert(dir);
                    continue;
                }
                if limit_reached {
                    continue;
                }
                match self.add_watch(&dir) {
                    Ok(()) => {
                        self.watched.insert(dir.clone());
                        wanted.insert(dir);
                    }
                    Err(e) if matches!(e.kind, ErrorKind::MaxFilesWatch) || is_enospc(&e) => {
                        limit_reached = true;
                    }
                    // A folder removed meanwhile, or unreadable: the scan reports what it cannot read.
                    Err(_) => {}
                }
            }
            if limit_reached {
                self.polled.insert(root.clone(), WATCH_LIMIT_REASON.into());
            }
        }
        let gone: Vec<PathBuf> = self.watched.difference(&wanted).cloned().collect();
        for dir in gone {
            // Fails when inotify already dropped the watch with its folder: nothing to undo.
            let _ = self.debouncer.unwatch(&dir);
            self.watched.remove(&dir);
        }
        drives
    }

    fn add_watch(&mut self, dir: &Path) -> notify::Result<()> {
        if self
            .options
            .watch_limit
            .is_some_and(|limit| self.watched.len() >= limit)
        {
            return Err(notify::Error::new(ErrorKind::MaxFilesWatch));
        }
        self.debouncer.watch(dir, RecursiveMode::NonRecursive)
    }

    /// How each library folder is followed.
    pub fn report(&self) -> Vec<FolderWatch> {
        self.roots
            .iter()
            .map(|root| FolderWatch {
                path: root.clone(),
                watched_folders: self
                    .watched
                    .iter()
                    .filter(|d| owner(d, &self.roots) == Some(root))
                    .count(),
                polled: self.polled.get(root).cloned(),
            })
            .collect()
    }

    /// Wait up to `timeout` for a reason to run; `None` when there is none yet (or on `stop`).
    pub fn wait(&mut self, stop: &AtomicBool, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            let now = Instant::now();
            if self.due.is_none()
                && !self.polled.is_empty()
                && now.duration_since(self.last_poll) >= self.options.poll_every
            {
                self.due = Some("periodic scan of folders inotify cannot follow".into());
            }
            if self.due.is_some() && self.settled() {
                self.last_poll = now;
                self.pending.clear();
                return self.due.take();
            }
            if now >= deadline {
                return None;
            }
            // While files settle, look again often; otherwise sleep until an event comes.
            let slice = if self.due.is_some() {
                Duration::from_millis(250)
            } else {
                deadline - now
            };
            match self.events.recv_timeout(slice.min(deadline - now)) {
                Ok(result) => self.take(result),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
            while let Ok(result) = self.events.try_recv() {
                self.take(result);
            }
        }
    }

    /// Note what a batch of debounced events calls for.
    fn take(&mut self, result: DebounceEventResult) {
        let events = match result {
            Ok(events) => events,
            Err(errors) => {
                // An error inside the watcher (an overflowed queue among them): scan to be sure.
                self.due = Some(format!(
                    "watching reported: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                self.needs_sync = true;
                return;
            }
        };
        for event in events {
            if event.need_rescan() {
                self.due = Some("the system dropped events (queue overflow): scanning".into());
                self.needs_sync = true;
                continue;
            }
            if matches!(event.kind, EventKind::Access(_)) {
                continue;
            }
            for path in &event.paths {
                let Some(root) = owner(path, &self.roots) else {
                    continue;
                };
                let hidden = path
                    .strip_prefix(root)
                    .map(|rel| rel.iter().any(skipped_dir))
                    .unwrap_or(true);
                if hidden {
                    continue;
                }
                if self.watched.contains(path) || path.is_dir() {
                    // A folder appeared, vanished or moved: follow it, and scan what it holds.
                    self.needs_sync = true;
                    self.due = Some(format!("folder changed: {}", path.display()));
                } else if kind_of(path).is_some() {
                    let seen = (stamp(path), Instant::now());
                    self.pending.insert(path.clone(), seen);
                    self.due = Some(format!("photo changed: {}", path.display()));
                }
            }
        }
    }

    /// Whether every changed file kept its size and modification time for `settle` (or is gone).
    fn settled(&mut self) -> bool {
        let now = Instant::now();
        let settle = self.options.settle;
        let mut all = true;
        for (path, (last, since)) in &mut self.pending {
            let current = stamp(path);
            if current != *last {
                *last = current;
                *since = now;
            }
            if current.is_some() && now.duration_since(*since) < settle {
                all = false;
            }
        }
        all
    }
}

/// Each root's device, or `None` when it cannot be read (see [`crate::ingest::scan::probe`]).
fn presence(roots: &[PathBuf]) -> Vec<Option<u64>> {
    roots.iter().map(|r| crate::ingest::scan::probe(r).ok()).collect()
}

fn device(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.dev())
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// The innermost library folder holding `path`.
fn owner<'a>(path: &Path, roots: &'a [PathBuf]) -> Option<&'a PathBuf> {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
}

/// `root` and the folders under it to watch: not hidden or system folders, not another library
/// folder's (it has its own walk), not followed through links.
fn folders_under(root: &Path, roots: &[PathBuf]) -> Vec<PathBuf> {
    WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| {
            e.file_type().is_dir()
                && (e.depth() == 0
                    || !(skipped_dir(e.file_name()) || roots.iter().any(|r| r == e.path())))
        })
        .filter_map(|e| e.ok().map(walkdir::DirEntry::into_path))
        .collect()
}

fn is_enospc(e: &notify::Error) -> bool {
    matches!(&e.kind, ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ENOSPC))
}

/// The network (or user-space) file system `path` is on, if it is on one.
pub fn network_file_system(path: &Path) -> Option<&'static str> {
    let stat = rustix::fs::statfs(path).ok()?;
    network_kind(stat.f_type as u64)
}

/// Network file systems by their `statfs` magic number (linux/magic.h).
fn network_kind(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "NFS",
        0x517B => "SMB",
        0xFF53_4D42 => "CIFS",
        0xFE53_4D42 => "SMB2",
        0x0102_1997 => "9P",
        0x00C3_6400 => "Ceph",
        0x5346_414F => "AFS",
        0x7375_7245 => "Coda",
        // sshfs, rclone, gvfs… (also some local drivers; a periodic scan costs them little).
        0x6573_5546 => "FUSE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_file_systems_are_told_by_their_magic_number() {
        assert_eq!(network_kind(0x6969), Some("NFS"));
        assert_eq!(network_kind(0xFF53_4D42), Some("CIFS"));
        assert_eq!(network_kind(0x6573_5546), Some("FUSE"));
        // ext4 and tmpfs are local.
        assert_eq!(network_kind(0xEF53), None);
        assert_eq!(network_kind(0x0102_1994), None);
        let here = tempfile::tempdir().expect("temp dir");
        assert_eq!(network_file_system(here.path()), None);
    }

    #[test]
    fn hidden_system_and_nested_library_folders_are_not_watched() {
        let root = tempfile::tempdir().expect("temp dir");
        let r = root.path();
        for dir in [
            "a/b",
            ".thumbnails/x",
            "@eaDir",
            ".git/objects",
            "nested/inner",
        ] {
            std::fs::create_dir_all(r.join(dir)).expect("mkdir");
        }
        let roots = vec![r.to_path_buf(), r.join("nested")];
        let mut found = folders_under(r, &roots);
        found.sort();
        let expected: Vec<PathBuf> = ["", "a", "a/b"].iter().map(|d| r.join(d)).collect();
        let expected: Vec<PathBuf> = expected
            .into_iter()
            .map(|p| p.components().collect())
            .collect();
        assert_eq!(found, expected);
    }
}
