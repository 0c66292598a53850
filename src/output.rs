//! Writing result files: always to a temporary file in the destination folder, then renamed into
//! place, so an interrupted run never leaves a half-written file.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
/// Creates missing parent folders. The error names the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create folder `{}`: {e}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| format!("`{}` is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write `{}`: {e}", path.display())
    })
}

/// Write several files into `dir` as a set: every file is first written to a temporary file, and
/// only when all have been written are they renamed into place; on failure the temporaries are
/// removed and no destination file is touched. Names may contain one level of subfolder.
pub fn write_set_atomic(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
    let mut temps: Vec<std::path::PathBuf> = Vec::new();
    let cleanup = |temps: &[std::path::PathBuf]| {
        for t in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (name, body) in files {
        let dest = dir.join(name);
        let parent = dest.parent().unwrap_or(dir).to_path_buf();
        if let Err(e) = fs::create_dir_all(&parent) {
            cleanup(&temps);
            return Err(format!("cannot create folder `{}`: {e}", parent.display()));
        }
        let file = dest
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{file}.{}.tmp", std::process::id()));
        let r = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(body)?;
            f.sync_all()
        })();
        if let Err(e) = r {
            let _ = fs::remove_file(&tmp);
            cleanup(&temps);
            return Err(format!("cannot write `{}`: {e}", dest.display()));
        }
        temps.push(tmp);
    }
    for (tmp, (name, _)) in temps.iter().zip(files) {
        fs::rename(tmp, dir.join(name)).map_err(|e| {
            cleanup(&temps);
            format!("cannot write `{}`: {e}", dir.join(name).display())
        })?;
    }
    Ok(())
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
        assert!(e.contains("/proc/npvrisk-cannot"), "{e}");
    }
}
