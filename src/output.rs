//! Writing result files: always to a temporary file in the destination folder, then renamed into
//! place, so an interrupted run never leaves a half-written file.

use crate::error::Error;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silence informational messages and progress bars on stderr (`--quiet`); errors and warnings
/// are still printed, and stdout is unchanged.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `eprintln!` for informational messages (progress notes, `wrote DIR`): nothing under `--quiet`.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::output::quiet() {
            eprintln!($($arg)*);
        }
    };
}

/// Write `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
/// Creates missing parent folders. The error names the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic_with(path, &mut |f| f.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes to the file (buffered), as it writes it.
pub fn write_atomic_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    check_destination(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .map_err(|e| Error::Input(format!("cannot create folder `{}`: {e}", dir.display())))?;
    let name = path
        .file_name()
        .ok_or_else(|| Error::Input(format!("`{}` is not a file path", path.display())))?;
    let tmp = temporary(dir, &name.to_string_lossy());
    let result = (|| {
        let mut f = std::io::BufWriter::new(fs::File::create(&tmp)?);
        write(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::Input(format!("cannot write `{}`: {e}", path.display()))
    })
}

/// Refuse a destination that an atomic write would not write but replace: something other
/// than a regular file (a device such as `/dev/full`, a pipe, a folder, a symbolic link: the
/// rename would put a file in its place), or a file this process read as an input.
fn check_destination(path: &Path) -> Result<(), Error> {
    if let Ok(meta) = fs::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(Error::Input(format!(
            "cannot write `{}`: it is not a regular file (a folder, link, device or pipe), which writing would replace; give the path of a file",
            path.display()
        )));
    }
    crate::input::refuse_input(path, "writing it")
}

/// Write several files into `dir` as a set: every file is first written to a temporary file, and
/// only when all have been written are they renamed into place; on failure the temporaries are
/// removed and no destination file is touched. Names may contain one level of subfolder.
pub fn write_set_atomic(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    let temps = write_temporaries(dir, files)?;
    for (tmp, (name, _)) in temps.iter().zip(files) {
        fs::rename(tmp, dir.join(name)).map_err(|e| {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            Error::Input(format!("cannot write `{}`: {e}", dir.join(name).display()))
        })?;
    }
    Ok(())
}

/// The file in an output folder that lists the files of the run it holds, written last. A folder
/// whose manifest says `"complete": true` holds exactly the files it lists from one run (and
/// whatever else the user keeps there); `"complete": false` means a run was stopped while
/// replacing the files, and lists every file that may be left of it or of the run before.
pub const MANIFEST: &str = "npvrisk-manifest.json";

/// The lock file of a folder (output or checkpoint folder); see [`lock_folder`].
pub const LOCK: &str = ".npvrisk.lock";

/// One file of an output folder's manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestFile {
    /// Path relative to the folder (`summary.json`, `charts/tornado.svg`, `rate5/summary.json`).
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The manifest of an output folder.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub npvrisk_version: String,
    /// Whether the folder holds exactly the run whose files are listed.
    pub complete: bool,
    pub files: Vec<ManifestFile>,
}

/// The folders this process holds the lock of, with their open lock files (a lock lasts while its
/// file is open: until the process ends, however it ends, so a killed process leaves no stale
/// lock).
static HELD: std::sync::Mutex<Vec<Held>> = std::sync::Mutex::new(Vec::new());

/// A folder this process holds the lock of.
struct Held {
    /// The folder, canonical.
    key: PathBuf,
    /// Its lock file, kept open: the lock lasts while it is.
    _file: fs::File,
    /// The topmost of the folder and its parents that this process created, if any (see
    /// [`remove_abandoned`]).
    created: Option<PathBuf>,
}

/// Lock `dir` (created if missing) for the rest of this process: an advisory `flock` of its
/// `.npvrisk.lock`, so that a second npvrisk run on the same output or checkpoint folder stops at
/// once instead of mixing its files with this one's. The error names the process holding the
/// lock. Locking a folder this process already holds does nothing.
pub fn lock_folder(dir: &Path) -> Result<(), Error> {
    // The topmost missing one of `dir` and its parents: created here.
    let created = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf);
    fs::create_dir_all(dir)
        .map_err(|e| Error::Input(format!("cannot create folder `{}`: {e}", dir.display())))?;
    let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if held.iter().any(|h| h.key == key) {
        return Ok(());
    }
    let path = dir.join(LOCK);
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::Input(format!("cannot lock `{}`: {e}", dir.display())))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = std::io::Read::read_to_string(&mut f, &mut holder);
            let holder = match holder.trim() {
                "" => "another npvrisk process".to_string(),
                h => h.to_string(),
            };
            return Err(Error::Input(format!(
                "`{}` is in use by {holder}: wait for it to finish, or use another folder",
                dir.display()
            )));
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(Error::Input(format!(
                "cannot lock `{}`: {e}",
                dir.display()
            )));
        }
    }
    let args: Vec<String> = std::env::args().collect();
    let me = format!(
        "npvrisk process {} (`{}`)\n",
        std::process::id(),
        args.join(" ")
    );
    let _ = f.set_len(0);
    let _ = f.write_all(me.as_bytes());
    held.push(Held {
        key,
        _file: f,
        created: created.map(|c| fs::canonicalize(&c).unwrap_or(c)),
    });
    Ok(())
}

/// After a failed command: remove each folder this process created and locked that holds
/// nothing but its lock file (and empty subfolders), e.g. the output folder of a streamed run
/// that failed before its files were published, with the parents created for it if they are
/// empty then, so that a failure leaves no folder behind. Folders that existed before, or that
/// hold any file, are left as they are; the locks of the removed folders are released.
pub fn remove_abandoned() {
    remove_abandoned_where(|_| true);
}

/// [`remove_abandoned`] for the folder `dir` and the folders inside it only: what a library
/// call that failed ([`crate::run::run_with`], [`crate::batch::batch`], …) runs on its own output
/// folder, leaving the folders of the process's other work alone.
pub fn remove_abandoned_in(dir: &Path) {
    let Ok(dir) = fs::canonicalize(dir) else {
        // Never created, or already gone.
        return;
    };
    remove_abandoned_where(|key| key.starts_with(&dir));
}

fn remove_abandoned_where(select: impl Fn(&Path) -> bool) {
    /// Whether `d` holds nothing but empty folders (and, at the top, the lock file).
    fn empty(d: &Path, top: bool) -> bool {
        let Ok(entries) = fs::read_dir(d) else {
            return false;
        };
        entries.into_iter().all(|e| {
            let Ok(e) = e else { return false };
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => empty(&p, false),
                Ok(t) if t.is_file() => top && e.file_name() == LOCK,
                _ => false,
            }
        })
    }
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|h| {
        let Some(top) = h
            .created
            .as_deref()
            .filter(|_| select(&h.key) && empty(&h.key, true))
        else {
            return true;
        };
        // Removed with the lock still held. A run started on the same path in the instant
        // between the lock file's removal and the folder's would make the removal fail (the
        // folder is then kept) or lose its lock file; nobody else knows of a folder this new.
        if fs::remove_dir_all(&h.key).is_err() {
            return true;
        }
        // The parents made for it, up to the topmost, while they are empty.
        for a in h.key.ancestors().skip(1) {
            if !a.starts_with(top) || fs::remove_dir(a).is_err() {
                break;
            }
        }
        false
    });
}

/// Lock the output folder `dir` now if it exists, so that a second run on it stops before
/// computing anything; a folder that does not exist yet is created and locked when the run's
/// files are published (so a run that fails leaves no folder behind).
pub fn lock_existing(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        lock_folder(dir)
    } else {
        Ok(())
    }
}

/// Replace the run in the output folder `dir` with `files` (names relative to the folder, at most
/// one level of subfolder), under the folder's lock: the temporaries of killed runs are removed,
/// every new file is written to a temporary first (nothing changes if one fails), the manifest
/// is marked incomplete, the files the previous run's manifest lists and this run does not
/// write are removed (with a subfolder left empty), the new files are renamed into place, and
/// the manifest listing them is written last. Files no manifest lists are left alone.
pub fn publish(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    publish_with(dir, files, Vec::new())
}

/// [`publish`] with, besides `files`, files already written to their temporaries as they were
/// produced ([`Staging`]) rather than held in memory.
pub fn publish_with(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    staged: Vec<Staged>,
) -> Result<(), Error> {
    lock_folder(dir)?;
    let old = read_manifest(dir);
    // No file of the set, nor any of the previous run's that it removes, may be an input of
    // this command; checked before anything is written (the staged files' temporaries go).
    let replaced = files
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(staged.iter().map(|f| f.name.as_str()))
        .chain(old.iter().map(|f| f.file.as_str()));
    for name in replaced {
        if let Err(e) = crate::input::refuse_input(&dir.join(name), "this command's output") {
            for f in &staged {
                let _ = fs::remove_file(&f.tmp);
            }
            return Err(e);
        }
    }
    // Folders that hold, or held, files of ours: their killed runs' temporaries go.
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    folders.insert(dir.to_path_buf());
    let names = old
        .iter()
        .map(|f| f.file.as_str())
        .chain(files.iter().map(|(n, _)| n.as_str()))
        .chain(staged.iter().map(|f| f.name.as_str()));
    for name in names {
        if let Some(p) = Path::new(name).parent() {
            folders.insert(dir.join(p));
        }
    }
    for f in &folders {
        remove_dead_temporaries(f);
    }
    // Each new file: its name, temporary, size and SHA-256.
    let mut written: Vec<(String, PathBuf, u64, String)> = Vec::new();
    let cleanup = |w: &[(String, PathBuf, u64, String)]| {
        for (_, t, _, _) in w {
            let _ = fs::remove_file(t);
        }
    };
    for f in &staged {
        if f.dir != dir {
            cleanup(&written);
            return Err(Error::Internal(format!(
                "`{}` was staged in `{}`, not in `{}`",
                f.name,
                f.dir.display(),
                dir.display()
            )));
        }
    }
    // The staged files' temporaries are now the set's: removed with the others on failure.
    for mut f in staged {
        let tmp = std::mem::take(&mut f.tmp);
        written.push((
            std::mem::take(&mut f.name),
            tmp,
            f.bytes,
            std::mem::take(&mut f.sha256),
        ));
    }
    let temps = match write_temporaries(dir, files) {
        Ok(t) => t,
        Err(e) => {
            cleanup(&written);
            return Err(e);
        }
    };
    for (tmp, (name, body)) in temps.into_iter().zip(files) {
        written.push((
            name.clone(),
            tmp,
            body.len() as u64,
            crate::summary::sha256_hex(body),
        ));
    }
    let new: BTreeSet<&str> = written.iter().map(|(n, ..)| n.as_str()).collect();
    let mut listed: Vec<ManifestFile> = old.clone();
    for (n, ..) in &written {
        if !old.iter().any(|f| f.file == *n) {
            listed.push(ManifestFile {
                file: n.clone(),
                bytes: None,
                sha256: None,
            });
        }
    }
    let result = (|| {
        write_manifest(dir, false, listed)?;
        for f in old.iter().filter(|f| !new.contains(f.file.as_str())) {
            let p = dir.join(&f.file);
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Input(format!(
                        "cannot remove `{}` of the previous run: {e}",
                        p.display()
                    )));
                }
            }
            // A subfolder that held only files of ours (a batch scenario no longer in the
            // manifest) goes too; one holding anything else stays.
            if let Some(parent) = Path::new(&f.file).parent()
                && !parent.as_os_str().is_empty()
            {
                let _ = fs::remove_dir(dir.join(parent));
            }
        }
        for (name, tmp, ..) in &written {
            fs::rename(tmp, dir.join(name)).map_err(|e| {
                Error::Input(format!("cannot write `{}`: {e}", dir.join(name).display()))
            })?;
        }
        let done = written
            .iter()
            .map(|(n, _, bytes, sha)| ManifestFile {
                file: n.clone(),
                bytes: Some(*bytes),
                sha256: Some(sha.clone()),
            })
            .collect();
        write_manifest(dir, true, done)
    })();
    if result.is_err() {
        cleanup(&written);
    }
    result
}

/// A writer that counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    sha: sha2::Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The destination of the file `name` of the folder `dir` (at most one level of subfolder) and
/// the temporary it is first written to, its parent folder created.
fn temporary_for(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), Error> {
    let dest = dir.join(name);
    let parent = dest.parent().unwrap_or(dir).to_path_buf();
    fs::create_dir_all(&parent)
        .map_err(|e| Error::Input(format!("cannot create folder `{}`: {e}", parent.display())))?;
    let file = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = temporary(&parent, &file);
    Ok((dest, tmp))
}

/// A file of an output folder written to its temporary as it is produced (through a buffer,
/// hashed on the way for the manifest), e.g. the draws of a run: [`Staging::finish`] gives the
/// [`Staged`] file that [`publish_with`] renames into place with the rest of the run, or
/// [`Staged::commit_as`] alone. Dropped unfinished, its temporary is removed.
pub struct Staging {
    dir: PathBuf,
    name: String,
    dest: PathBuf,
    tmp: PathBuf,
    w: Option<Hashing<std::io::BufWriter<fs::File>>>,
}

/// A file of an output folder whose content is in its temporary; dropped before it is published
/// or committed, its temporary is removed.
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    name: String,
    tmp: PathBuf,
    bytes: u64,
    sha256: String,
}

impl Staging {
    /// Start the file `name` of the folder `dir` (at most one level of subfolder; created if
    /// missing): its temporary is created. Locking the folder is the caller's (see
    /// [`lock_folder`]): a folder that shards of one run share is not locked.
    pub fn create(dir: &Path, name: &str) -> Result<Staging, Error> {
        use sha2::Digest;
        let (dest, tmp) = temporary_for(dir, name)?;
        let f = fs::File::create(&tmp)
            .map_err(|e| Error::Input(format!("cannot write `{}`: {e}", dest.display())))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            dest,
            tmp,
            w: Some(Hashing {
                inner: std::io::BufWriter::with_capacity(1 << 20, f),
                sha: sha2::Sha256::new(),
                bytes: 0,
            }),
        })
    }

    /// The error of a failed write to this file, naming it.
    pub fn error(&self, e: &dyn std::fmt::Display) -> Error {
        Error::Input(format!("cannot write `{}`: {e}", self.dest.display()))
    }

    /// Flush the content to disk: the file, ready to publish.
    pub fn finish(mut self) -> Result<Staged, Error> {
        use sha2::Digest;
        let w = self.w.take().expect("a staging file is finished once");
        let r = (|| {
            let Hashing { inner, sha, bytes } = w;
            let f = inner.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            let sha: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
            Ok::<_, std::io::Error>((bytes, sha))
        })();
        let (bytes, sha256) = r.map_err(|e| self.error(&e))?;
        Ok(Staged {
            dir: std::mem::take(&mut self.dir),
            name: std::mem::take(&mut self.name),
            tmp: std::mem::take(&mut self.tmp),
            bytes,
            sha256,
        })
    }
}

impl Write for Staging {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.as_mut().expect("not finished").write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.as_mut().expect("not finished").flush()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.w = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Staged {
    /// Rename the file into place as `name` in its folder, on its own (not as part of a
    /// published set); an existing file of that name is replaced.
    pub fn commit_as(mut self, name: &str) -> Result<(), Error> {
        let tmp = std::mem::take(&mut self.tmp);
        let dest = self.dir.join(name);
        fs::rename(&tmp, &dest).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::Input(format!("cannot write `{}`: {e}", dest.display()))
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Whether a name from a manifest is a plain relative path inside the folder (a crafted manifest
/// must not make a run remove files elsewhere).
fn inside(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty()
        && name != MANIFEST
        && name != LOCK
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The files the manifest of `dir` lists (none if there is no readable manifest).
pub fn read_manifest(dir: &Path) -> Vec<ManifestFile> {
    let Ok(text) = crate::input::read_text(&dir.join(MANIFEST)) else {
        return Vec::new();
    };
    let Ok(m) = serde_json::from_str::<Manifest>(&text) else {
        return Vec::new();
    };
    m.files.into_iter().filter(|f| inside(&f.file)).collect()
}

fn write_manifest(dir: &Path, complete: bool, files: Vec<ManifestFile>) -> Result<(), Error> {
    let m = Manifest {
        npvrisk_version: env!("CARGO_PKG_VERSION").to_string(),
        complete,
        files,
    };
    let mut t = serde_json::to_string_pretty(&m).expect("a manifest serialises");
    t.push('\n');
    write_atomic(&dir.join(MANIFEST), t.as_bytes())
}

/// The temporary file `write_atomic` uses for `name` in `dir`.
fn temporary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Remove the temporaries (`.NAME.PID.tmp`) in `dir` left by npvrisk processes that no longer
/// run (killed while writing).
pub fn remove_dead_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.rsplit_once('.'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Whether process `pid` runs (on a system without `/proc`, assume it does: keep its files).
fn process_alive(pid: u32) -> bool {
    let proc_fs = Path::new("/proc");
    !proc_fs.join("self").exists() || proc_fs.join(pid.to_string()).exists()
}

/// Write every file to its temporary; on failure remove them all.
fn write_temporaries(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>, Error> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let cleanup = |temps: &[PathBuf]| {
        for t in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (name, body) in files {
        let (dest, tmp) = match temporary_for(dir, name) {
            Ok(x) => x,
            Err(e) => {
                cleanup(&temps);
                return Err(e);
            }
        };
        let r = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(body)?;
            f.sync_all()
        })();
        if let Err(e) = r {
            let _ = fs::remove_file(&tmp);
            cleanup(&temps);
            return Err(Error::Input(format!(
                "cannot write `{}`: {e}",
                dest.display()
            )));
        }
        temps.push(tmp);
    }
    Ok(temps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = std::env::temp_dir().join(format!("npvrisk-out-{}", std::process::id()));
        let p = dir.join("sub/a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_destination_is_an_error_naming_the_path() {
        let e = write_atomic(Path::new("/proc/npvrisk-cannot/a.txt"), b"x").unwrap_err();
        assert!(matches!(e, Error::Input(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("/proc/npvrisk-cannot"), "{e}");
    }
}
