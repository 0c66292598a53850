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

    fn extension(&self) -> &'static str {
        match self.format {
            DrawsFormat::Parquet => "parquet",
            _ => "csv",
        }
    }

    fn name(&self, first: u64, end: u64) -> String {
        format!("draws-{first:012}-{end:012}.{}", self.extension())
    }

    /// The parts in the folder: first block, end block and path, in block order.
    fn list(&self) -> Vec<(u64, u64, PathBuf)> {
        let ext = format!(".{}", self.extension());
        let mut parts: Vec<(u64, u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let (a, b) = name
                    .strip_prefix("draws-")?
                    .strip_suffix(ext.as_str())?
                    .split_once('-')?;
                Some((a.parse().ok()?, b.parse().ok()?, e.path()))
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

/// The file of the kept draws of the shard whose shard file is `shard_file` (next to it): the
/// shard file's name with `.draws.csv` or `.draws.parquet` for `.npvshard`.
pub fn shard_draws_name(shard_file: &str, format: DrawsFormat) -> String {
    let stem = shard_file.strip_suffix(".npvshard").unwrap_or(shard_file);
    format!("{stem}.{}", format.file_name())
}
