//! Reading input files: only regular files, no larger than a cap, and text must be UTF-8 (a file
//! that is not is refused with the line and column of its first bad byte).
//!
//! A FIFO, a device such as `/dev/zero` or a folder given where a file is expected would block,
//! read until memory runs out, or fail with an obscure message; each is refused before it is
//! opened.

use crate::error::Error;
use std::io::Read;
use std::path::Path;

/// Largest text input file (model, distribution, manifest or CSV file) read, in bytes.
pub const MAX_TEXT_BYTES: u64 = 256 << 20;

/// Largest shard, pass or plan file read, in bytes (a shard's statistics and its sieve's values
/// take tens of megabytes).
pub const MAX_SHARD_BYTES: u64 = 16 << 30;

/// Read the whole of `path`, a regular file of at most `cap` bytes. The error names the path.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, Error> {
    let name = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Input(format!("cannot read `{name}`: {e}")))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a pipe, device or socket)"
        };
        return Err(Error::Input(format!(
            "cannot read `{name}`: it is {what}; give the path of a file"
        )));
    }
    if meta.len() > cap {
        return Err(Error::Input(format!(
            "cannot read `{name}`: it has {} bytes, more than the {cap} an input file may have",
            meta.len()
        )));
    }
    let f = std::fs::File::open(path)
        .map_err(|e| Error::Input(format!("cannot read `{name}`: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never read more than the cap.
    f.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Input(format!("cannot read `{name}`: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(Error::Input(format!(
            "cannot read `{name}`: it grew beyond the {cap} bytes an input file may have while it was read"
        )));
    }
    Ok(bytes)
}

/// Read a text input file: a regular file of at most [`MAX_TEXT_BYTES`], UTF-8. A file that is
/// not UTF-8 is refused with the line and column of the first bad byte.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = read_bytes(path, MAX_TEXT_BYTES)?;
    text_of(&path.display().to_string(), bytes)
}

/// The files the current command read as inputs ([`read_input`], [`note_input`]; since the last
/// [`begin_command`]), each as its canonical path: what an output must not replace
/// ([`refuse_input`]).
static INPUTS: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

/// [`read_text`] of a file that is an input of the command (a model, distribution, manifest,
/// CSV or published-figures file), remembered so that no output of this process replaces it.
pub fn read_input(path: &Path) -> Result<String, Error> {
    let text = read_text(path)?;
    note_input(path);
    Ok(text)
}

/// Start a command: the files read so far were the inputs of earlier commands (a program that
/// calls the library runs several in one process), which this one's outputs may replace.
/// Called by each command of the library as it starts, before it reads anything.
pub fn begin_command() {
    INPUTS.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Remember `path` as an input of this process (see [`read_input`]).
pub fn note_input(path: &Path) {
    if let Ok(p) = std::fs::canonicalize(path) {
        let mut inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
        if !inputs.contains(&p) {
            inputs.push(p);
        }
    }
}

/// Refuse to replace or remove `path` when it is a file this command read as an input: the
/// output named `what` would destroy the data it was computed from. Nothing is refused for a
/// path that does not exist yet.
pub fn refuse_input(path: &Path, what: &str) -> Result<(), Error> {
    let Ok(p) = std::fs::canonicalize(path) else {
        return Ok(());
    };
    let inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    if inputs.contains(&p) {
        return Err(Error::Input(format!(
            "`{}` is an input of this command: {what} would replace or remove it, and the data it was computed from would be lost; write the output elsewhere (another --out)",
            path.display()
        )));
    }
    Ok(())
}

/// `bytes` as UTF-8 text, or an error naming `name`, the line and column of the first byte that
/// is not UTF-8, and the byte.
pub fn text_of(name: &str, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| -> Error {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        // The prefix is valid UTF-8, so lines and columns can be counted on it.
        let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or("");
        let (line, col) = crate::error::line_col(prefix, at);
        Error::Input(format!(
            "{name}:{line}:{col}: byte 0x{:02x} is not UTF-8 text (byte offset {at}): save the file as UTF-8",
            bytes[at]
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_is_located() {
        let e = text_of("f.toml", b"a = 1\nb = \"x\xffy\"\n".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.toml:2:7: byte 0xff is not UTF-8 text (byte offset 12): save the file as UTF-8"
        );
    }

    #[test]
    fn devices_pipes_and_folders_are_refused_without_reading() {
        for p in ["/dev/zero", "/dev/null", "/"] {
            let e = read_text(Path::new(p)).unwrap_err().to_string();
            assert!(
                e.contains(p) && e.contains("give the path of a file"),
                "{e}"
            );
        }
    }

    #[test]
    fn files_over_the_cap_are_refused() {
        let p = std::env::temp_dir().join(format!("npvrisk-cap-{}", std::process::id()));
        std::fs::write(&p, [b'x'; 100]).unwrap();
        assert!(read_bytes(&p, 100).is_ok());
        let e = read_bytes(&p, 99).unwrap_err().to_string();
        assert!(e.contains("100 bytes, more than the 99"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }
}
