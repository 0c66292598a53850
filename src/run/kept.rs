//! The kept draws of runs that do not hold their draws in memory: streamed runs write them as
//! pass 1 produces them ([`KeptFile`]); checkpointed streamed runs write them in parts, one per
//! saved stretch of pass 1, joined at the end ([`Parts`]), so that a resumed run keeps exactly the
//! draws of an uninterrupted one.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::draws_out::{DrawsFormat, Sink};
use crate::engine::{Draws, Plan};
use crate::error::Error;
use crate::output::{Staged, Staging};
use crate::stream::DrawSink;

/// A file of kept draws written as pass 1 produces them, to its temporary in a folder.
pub struct KeptFile<'a> {
    sink: Sink<'a, Staging>,
    path: PathBuf,
}

impl<'a> KeptFile<'a> {
    /// The file `name` of `dir` (not locked: a folder of shards is shared).
    pub fn create(
        plan: &'a Plan,
        dir: &Path,
        name: &str,
        format: DrawsFormat,
        title: &str,
    ) -> Result<KeptFile<'a>, Error> {
        let w = Staging::create(dir, name)?;
        let path = dir.join(name);
        let sink = Sink::new(format, plan, title, w).map_err(|e| cannot_write(&path, &e))?;
        Ok(KeptFile { sink, path })
    }

    /// The draws file of a run's output folder `dir`, which is locked for this process.
    pub fn create_locked(
        plan: &'a Plan,
        dir: &Path,
        format: DrawsFormat,
        title: &str,
    ) -> Result<KeptFile<'a>, Error> {
        crate::output::lock_folder(dir)?;
        KeptFile::create(plan, dir, format.file_name(), format, title)
    }

    /// The finished file, to publish with the run or commit alone.
    pub fn finish(self) -> Result<Staged, Error> {
        let w = self
            .sink
            .finish()
            .map_err(|e| cannot_write(&self.path, &e))?;
        w.finish()
    }
}

impl DrawSink for KeptFile<'_> {
    fn put(&mut self, d: &Draws, rows: Range<usize>, start: u64) -> Result<(), String> {
        self.sink
            .push(d, rows, start)
            .map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))
    }
}

fn cannot_write(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Input(format!("cannot write `{}`: {e}", path.display()))
}

/// The kept draws of a checkpointed streamed run, in the checkpoint folder: one file per stretch
/// of pass 1 between two saves of its state, `draws-FIRST-END.EXT` for blocks `FIRST..END`. A
/// part is renamed into place before the state that counts its blocks is saved, so the parts of
/// a saved state cover its blocks; a resumed run keeps the parts that tile the saved blocks and
/// continues from there (or, if they do not, starts pass 1 again).
pub struct Parts<'a> {
    dir: PathBuf,
    plan: &'a Plan,
    format: DrawsFormat,
    title: String,
    /// The run's draws per block.
    block: u64,
    /// The part being written and its first block.
    open: Option<(u64, KeptFile<'a>)>,
}

/// The name parts are written under until they are closed.
const OPEN_PART: &str = "draws-part";

impl<'a> Parts<'a> {
    pub fn new(
        dir: &Path,
        plan: &'a Plan,
        format: DrawsFormat,
        title: &str,
        block: u64,
    ) -> Parts<'a> {
        crate::output::remove_dead_temporaries(dir);
        Parts {
            dir: dir.to_path_buf(),
            plan,
            format,
            title: title.to_string(),
            block,
            open: None,
        }
    }

    fn name(&self, first: u64, end: u64) -> String {
        format!("draws-{first:012}-{end:012}.{}", self.format.name())
    }

    /// The parts in the folder of this format: first block, end block and path, in block order.
    /// Parts of another format (a run resumed with another `--draws-format`) are removed.
    fn list(&self) -> Vec<(u64, u64, PathBuf)> {
        let mut parts: Vec<(u64, u64, PathBuf)> = list_parts(&self.dir)
            .into_iter()
            .filter_map(|(a, b, ext, p)| {
                if ext == self.format.name() {
                    Some((a, b, p))
                } else {
                    let _ = std::fs::remove_file(p);
                    None
                }
            })
            .collect();
        parts.sort();
        parts
    }

    /// Whether the parts in the folder cover blocks `lo..start` exactly, one after the other;
    /// parts beyond `start` (closed by a run killed before it saved its state) are removed, and
    /// when the parts do not cover `lo..start`, all of them.
    pub fn resume_at(&self, lo: u64, start: u64) -> bool {
        let parts = self.list();
        let mut at = lo;
        let mut keep = 0;
        for (first, end, _) in &parts {
            if *first == at && *end <= start && end > first {
                at = *end;
                keep += 1;
            } else {
                break;
            }
        }
        let covered = at == start;
        let stale = if covered { &parts[keep..] } else { &parts[..] };
        for (_, _, p) in stale {
            let _ = std::fs::remove_file(p);
        }
        covered
    }

    /// Close the part being written as ending at block `end` (before the state counting its
    /// blocks is saved).
    pub fn close(&mut self, end: u64) -> Result<(), Error> {
        if let Some((first, f)) = self.open.take() {
            let name = self.name(first, end);
            f.finish()?.commit_as(&name)?;
        }
        Ok(())
    }

    /// Remove every part (once the joined draws are written).
    pub fn remove_all(&self) {
        for (_, _, p) in self.list() {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Join the parts of blocks `lo..end` into `w` (the run's draws file); the rows written.
    pub fn join_into(&self, lo: u64, end: u64, w: Staging) -> Result<(u64, Staging), Error> {
        if !self.resume_at(lo, end) {
            return Err(Error::Internal(format!(
                "the kept draws in `{}` do not cover blocks {lo}..{end}",
                self.dir.display()
            )));
        }
        let parts: Vec<PathBuf> = self.list().into_iter().map(|(_, _, p)| p).collect();
        crate::draws_out::concat(self.format, self.plan, &self.title, &parts, w)
            .map_err(|e| Error::Input(format!("cannot join the kept draws: {e}")))
    }
}

impl DrawSink for Parts<'_> {
    fn put(&mut self, d: &Draws, rows: Range<usize>, start: u64) -> Result<(), String> {
        if self.open.is_none() {
            let f = KeptFile::create(self.plan, &self.dir, OPEN_PART, self.format, &self.title)
                .map_err(|e| e.to_string())?;
            self.open = Some((start / self.block, f));
        }
        let (_, f) = self.open.as_mut().expect("a part is open");
        f.put(d, rows, start)
    }
}

/// The kept-draw parts in a checkpoint folder, of any format: first block, end block, extension
/// and path.
fn list_parts(dir: &Path) -> Vec<(u64, u64, String, PathBuf)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (blocks, ext) = name.strip_prefix("draws-")?.split_once('.')?;
            if ext != "csv" && ext != "parquet" {
                return None;
            }
            let (a, b) = blocks.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?, ext.to_string(), e.path()))
        })
        .collect()
}

/// Remove the kept-draw parts of a checkpoint folder whose run now keeps no draws (resumed
/// without `--keep-draws`).
pub fn remove_parts(dir: &Path) {
    for (.., p) in list_parts(dir) {
        let _ = std::fs::remove_file(p);
    }
}

/// The file of the kept draws of the shard whose shard file is `shard_file` (next to it): the
/// shard file's name with `.draws.csv` or `.draws.parquet` for `.npvshard`.
pub fn shard_draws_name(shard_file: &str, format: DrawsFormat) -> String {
    let stem = shard_file.strip_suffix(".npvshard").unwrap_or(shard_file);
    format!("{stem}.{}", format.file_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let model = crate::format::parse_model(
            crate::embedded::EY2013_MODEL_FILE,
            crate::embedded::EY2013_MODEL,
        )
        .unwrap();
        let set = crate::distfile::load(&model, &[]).unwrap();
        let scen = model.scenario_index("base").unwrap();
        Plan::new(model, scen, set).unwrap()
    }

    /// The part files of a folder, sorted.
    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_resumed_run_keeps_the_parts_that_tile_its_saved_blocks() {
        let plan = plan();
        let dir = std::env::temp_dir().join(format!("npvrisk-parts-{}", std::process::id()));
        let touch = |names: &[&str]| {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for n in names {
                std::fs::write(dir.join(n), "").unwrap();
            }
        };
        let parts = Parts::new(&dir, &plan, DrawsFormat::Csv, "t", 100);
        let p = |a: u64, b: u64, ext: &str| format!("draws-{a:012}-{b:012}.{ext}");
        // Saved up to block 20: the part past it (closed, then killed before the save) goes, as
        // do parts of another format and files that are not parts.
        touch(&[
            &p(0, 10, "csv"),
            &p(10, 20, "csv"),
            &p(20, 30, "csv"),
            &p(0, 30, "parquet"),
            "run.npvshard",
        ]);
        assert!(parts.resume_at(0, 20));
        assert_eq!(
            files(&dir),
            vec![p(0, 10, "csv"), p(10, 20, "csv"), "run.npvshard".into()]
        );
        // A gap: nothing is kept, pass 1 starts again.
        touch(&[&p(0, 10, "csv"), &p(15, 20, "csv")]);
        assert!(!parts.resume_at(0, 20));
        assert_eq!(files(&dir), Vec::<String>::new());
        // Nothing saved yet: nothing to keep, and that is a cover of nothing.
        touch(&[&p(0, 10, "csv")]);
        assert!(parts.resume_at(0, 0));
        assert_eq!(files(&dir), Vec::<String>::new());
        // A shard's parts start at its first block.
        touch(&[&p(40, 50, "csv"), &p(50, 60, "csv")]);
        assert!(parts.resume_at(40, 60));
        assert!(!parts.resume_at(30, 60));
        // A run resumed without --keep-draws removes every part.
        touch(&[&p(0, 10, "csv"), &p(0, 10, "parquet"), "run.npvshard"]);
        remove_parts(&dir);
        assert_eq!(files(&dir), vec!["run.npvshard".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_shards_draws_file_is_named_after_its_shard_file() {
        assert_eq!(
            shard_draws_name("shard-00001-of-00004.npvshard", DrawsFormat::Parquet),
            "shard-00001-of-00004.draws.parquet"
        );
        assert_eq!(
            shard_draws_name("shard-00001-of-00004.npvshard", DrawsFormat::Csv),
            "shard-00001-of-00004.draws.csv"
        );
    }
}
