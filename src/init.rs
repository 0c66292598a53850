//! `npvrisk init DIR`: the files of a new case, written from the templates in `templates/init/`
//! (a small local case with illustrative figures, every one commented with its source or marked
//! as an assumption). Existing files are never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Failure;

/// The files `init` writes, with their contents.
pub const FILES: [(&str, &str); 3] = [
    ("model.toml", include_str!("../templates/init/model.toml")),
    ("dists.toml", include_str!("../templates/init/dists.toml")),
    ("batch.toml", include_str!("../templates/init/batch.toml")),
];

/// Write the template files into `dir` (created if missing). Refused, writing nothing, when any
/// of them exists; a file that cannot be written removes the ones written before it.
pub fn init(dir: &Path) -> Result<(), Failure> {
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::Input(format!(
            "`npvrisk init {}`: exists and is not a folder",
            dir.display()
        )));
    }
    let taken: Vec<String> = FILES
        .iter()
        .map(|(f, _)| dir.join(f))
        .filter(|p| p.symlink_metadata().is_ok())
        .map(|p| p.display().to_string())
        .collect();
    if !taken.is_empty() {
        return Err(Failure::Input(format!(
            "`npvrisk init {}`: {} already exist{}; init never overwrites a file: choose a new folder, or move the file{} away",
            dir.display(),
            taken.join(", "),
            if taken.len() == 1 { "s" } else { "" },
            if taken.len() == 1 { "" } else { "s" },
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Input(format!("cannot create {}: {e}", dir.display())))?;
    let mut written: Vec<PathBuf> = Vec::new();
    for (f, body) in FILES {
        let p = dir.join(f);
        // `create_new`: a file that appeared since the check above is not overwritten either.
        let r = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
            .and_then(|mut h| h.write_all(body.as_bytes()).and_then(|_| h.sync_all()));
        if let Err(e) = r {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                let _ = std::fs::remove_file(&p);
            }
            for w in &written {
                let _ = std::fs::remove_file(w);
            }
            return Err(Failure::Input(format!("cannot write {}: {e}", p.display())));
        }
        written.push(p);
    }
    let d = dir.display();
    npvrisk::note!(
        "wrote {d}/model.toml, {d}/dists.toml and {d}/batch.toml (illustrative figures: replace them with your case's)\nnext: npvrisk validate {d}/*\n      npvrisk report {d}/model.toml --dist {d}/dists.toml --out {d}/report\n      npvrisk batch {d}/batch.toml --out {d}/batch"
    );
    Ok(())
}
