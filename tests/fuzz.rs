//! A deterministic mutation fuzzer for the loaders: model files, distribution files, published
//! figures, batch manifests, the headers and bodies of shard and checkpoint files, and shards'
//! statistics with their sieve values, merged (`npvrisk::run::merge`). It runs on stable Rust with
//! no extra tooling: each seed of the committed corpus (`tests/fuzz/`, `tests/bad/`,
//! `tests/bad_dist/`, `tests/data/`, `distributions/`) is mutated by a seeded generator (byte
//! flips, deletions, duplications, splices of another seed, numbers and values replaced by
//! boundary cases; for shard files, header fields replaced and the checksum recomputed, so the
//! mutation reaches the field checks rather than stopping at the checksum), and every loader must
//! return `Ok` or an error, never panic. A panic fails the test and saves the input that caused
//! it under `target/fuzz-failures/` (an abort stops the test process, which fails it too).
//!
//! The budget is a number of mutations per target: a small one in every test run
//! (`fuzz_smoke`), and `NPVRISK_FUZZ_ITERATIONS` (default 20,000) in CI's
//! `fuzz_loaders -- --ignored`. The same budget and `NPVRISK_FUZZ_SEED` give the same inputs.
//!
//! A batch manifest is checked as `npvrisk validate` checks it ([`npvrisk::batch::validate`]:
//! its fields, its model and every scenario's distributions, without running), from a file in a
//! folder that holds the model and distribution files its seeds name; every failure must be bad
//! input (exit code 2), not an internal error. So must every failure to merge a mutated shard
//! of statistics.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use npvrisk::model::ModelSpec;

/// splitmix64: a small seeded generator for the mutations (reproducible from the seed).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values at the edges of what the loaders accept, written as TOML/JSON value text.
const EDGE: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1e-320",
    "1e300",
    "-1e300",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "[]",
    "[[]]",
    "{}",
    "[0]",
    "[1e300, 1e300]",
    "\"\"",
    "\"..\"",
    "\".\"",
    "\"a/b\"",
    "\"3.5%\"",
    "true",
    "\"x\"",
];

/// Bytes that change the structure of TOML or JSON.
const STRUCT_BYTES: &[u8] = b"[]{}=,.\"'\n\r\t#:-+0 \\\xff\x00";

/// A mutation of `input` (another seed, `other`, may be spliced in).
fn mutate(g: &mut Gen, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + g.below(4) {
        let n = b.len();
        match g.below(8) {
            0 if n > 0 => {
                let i = g.below(n);
                b[i] ^= 1 << g.below(8);
            }
            1 if n > 0 => {
                let i = g.below(n);
                b[i] = STRUCT_BYTES[g.below(STRUCT_BYTES.len())];
            }
            2 if n > 0 => {
                let i = g.below(n);
                let len = 1 + g.below(64.min(n - i));
                b.drain(i..i + len);
            }
            3 if n > 0 => {
                let i = g.below(n);
                let len = 1 + g.below(256.min(n - i));
                let piece = b[i..i + len].to_vec();
                let at = g.below(n + 1);
                b.splice(at..at, piece);
            }
            4 if !other.is_empty() => {
                let i = g.below(other.len());
                let len = 1 + g.below(512.min(other.len() - i));
                let at = g.below(n + 1);
                b.splice(at..at, other[i..i + len].iter().copied());
            }
            5 => {
                // Replace a number (or the value after `=`/`:`) by an edge value.
                let starts: Vec<usize> = (0..n)
                    .filter(|&i| {
                        (b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()))
                            || b[i] == b'='
                            || b[i] == b':'
                    })
                    .collect();
                if starts.is_empty() {
                    continue;
                }
                let mut i = starts[g.below(starts.len())];
                if b[i] == b'=' || b[i] == b':' {
                    i += 1;
                    while i < n && b[i] == b' ' {
                        i += 1;
                    }
                }
                let mut j = i;
                while j < n && !b"\n,]}".contains(&b[j]) {
                    j += 1;
                }
                let edge = EDGE[g.below(EDGE.len())].as_bytes();
                b.splice(i..j, edge.iter().copied());
            }
            6 if n > 0 => {
                b.truncate(g.below(n));
            }
            _ => {
                // Duplicate a line (duplicate keys and tables).
                let lines: Vec<usize> = std::iter::once(0)
                    .chain((0..n).filter(|&i| b[i] == b'\n').map(|i| i + 1))
                    .filter(|&i| i < n)
                    .collect();
                if let Some(&s) = lines.get(g.below(lines.len())) {
                    let e = b[s..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(n, |p| s + p + 1);
                    let line = b[s..e].to_vec();
                    b.splice(e..e, line);
                }
            }
        }
    }
    b
}

/// The text of a mutated file as the loaders receive it (their caller's check: UTF-8 with a
/// located error), or `None` when it is refused there.
fn text(name: &str, bytes: &[u8]) -> Option<String> {
    npvrisk::input::text_of(name, bytes.to_vec()).ok()
}

fn seeds(dirs: &[&str], ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for d in dirs {
        let p = Path::new(d);
        let paths: Vec<PathBuf> = if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .unwrap_or_else(|e| panic!("{d}: {e}"))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            v.sort();
            v
        };
        for p in paths {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    assert!(!out.is_empty(), "no seeds in {dirs:?}");
    out
}

fn model_of(path: &str) -> ModelSpec {
    let src = std::fs::read_to_string(path).unwrap();
    npvrisk::format::parse_model(path, &src).unwrap()
}

/// The shard-file container: magic, header length, JSON header, body, SHA-256 of all before it.
fn split_shard(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[16..16 + n]).unwrap();
    (header, bytes[16 + n..bytes.len() - 32].to_vec())
}

fn join_shard(header: &[u8], body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut o = b"NPVRSHRD".to_vec();
    o.extend_from_slice(&(header.len() as u64).to_le_bytes());
    o.extend_from_slice(header);
    o.extend_from_slice(body);
    let sum: [u8; 32] = sha2::Sha256::digest(&o).into();
    o.extend_from_slice(&sum);
    o
}

/// Replace one field of a shard header (a top-level one, or one of a source file's) by an edge
/// value, or drop it.
fn mutate_header(g: &mut Gen, h: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let mut h = h.clone();
    let Value::Object(map) = &mut h else {
        return h;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    let k = &keys[g.below(keys.len())];
    let edges = [
        Value::from(0),
        Value::from(1),
        Value::from(-1),
        Value::from(u64::MAX),
        Value::from(1e300),
        Value::from(""),
        Value::from("abc"),
        Value::from("0123456789ab"),
        Value::Array(vec![]),
        Value::Array(vec![Value::from(2.0), Value::from(-0.5)]),
        Value::Null,
        Value::Bool(true),
    ];
    match g.below(4) {
        0 => {
            map.remove(k);
        }
        1 => {
            if let Some(Value::Array(files)) = map.get_mut(k) {
                files.clear();
            } else if let Some(Value::Object(f)) = map.get_mut(k) {
                let fk: Vec<String> = f.keys().cloned().collect();
                let fk = &fk[g.below(fk.len())];
                f.insert(fk.clone(), edges[g.below(edges.len())].clone());
            } else {
                map.insert(k.clone(), edges[g.below(edges.len())].clone());
            }
        }
        _ => {
            map.insert(k.clone(), edges[g.below(edges.len())].clone());
        }
    }
    h
}

/// Little-endian 8-byte words as `f64`.
fn words(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|w| f64::from_le_bytes(w.try_into().unwrap()))
        .collect()
}

/// The cells of the sieve's values that end a shard's `stats` body (its number of columns, then
/// per column its number of cells and per cell its index, its number of values and the values,
/// every field 8 bytes): found as the first 8-byte-aligned offset from which the body reads as
/// such a section up to its end. Each cell as (offset of its first value, number of values).
fn sieve_cells(body: &[u8]) -> Option<Vec<(usize, usize)>> {
    let u = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            body.get(at..at + 8)?.try_into().unwrap(),
        ))
    };
    let read = |mut at: usize| -> Option<Vec<(usize, usize)>> {
        let cols = u(at)?;
        if cols == 0 || cols > 10_000 {
            return None;
        }
        at += 8;
        let mut cells = Vec::new();
        for _ in 0..cols {
            let n = u(at)?;
            at += 8;
            for _ in 0..n {
                let len = usize::try_from(u(at + 8)?).ok()?;
                let bytes = len.checked_mul(8)?;
                if bytes > body.len() - at {
                    return None;
                }
                cells.push((at + 16, len));
                at += 16 + bytes;
            }
        }
        (at == body.len() && !cells.is_empty()).then_some(cells)
    };
    (0..body.len()).step_by(8).find_map(read)
}

/// Save an input that made a loader fail, for reproduction.
fn save_failure(target: &str, i: usize, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{target}-{i}"));
    let _ = std::fs::write(&file, input);
    file
}

/// Record the inputs a loader failed on with another error than bad input (each saved for
/// reproduction): `(mutation, input, error)`.
fn not_bad_input(target: &str, found: Vec<(usize, Vec<u8>, String)>, failures: &mut Vec<String>) {
    for (i, input, e) in found {
        let file = save_failure(target, i, &input);
        failures.push(format!(
            "{target} #{i}: not bad input ({e}): saved as {}",
            file.display()
        ));
    }
}

/// Run `f` on one input; a panic is recorded with the input saved for reproduction.
fn guard(target: &str, i: usize, input: &[u8], failures: &mut Vec<String>, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let file = save_failure(target, i, input);
        failures.push(format!("{target} #{i}: saved as {}", file.display()));
    }
}

fn fuzz(iterations: usize, seed: u64) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let mut failures = Vec::new();
    // Inputs each loader accepted and refused: a fuzzer whose mutations never get past the first
    // check would test little, nor would one whose mutations break nothing, so the counts are
    // printed and none may be zero.
    let accepted: [AtomicUsize; 6] = Default::default();
    let refused: [AtomicUsize; 6] = Default::default();
    let mut g = Gen(seed);
    let ey = model_of("distributions/ey2013.toml");
    let council = model_of("tests/data/council.toml");

    // Valid seeds three times in four (a mutation of one is often still valid, so the checks
    // after parsing are reached), the bad examples otherwise.
    let valid_models = seeds(
        &[
            "tests/fuzz/model",
            "tests/data/council.toml",
            "distributions/ey2013.toml",
        ],
        "toml",
    );
    let bad_models = seeds(&["tests/bad"], "toml");
    let models: Vec<_> = valid_models.iter().chain(&bad_models).cloned().collect();
    for i in 0..iterations {
        let (name, a) = if g.below(4) > 0 {
            &valid_models[g.below(valid_models.len())]
        } else {
            &models[g.below(models.len())]
        };
        let (_, b) = &models[g.below(models.len())];
        let m = mutate(&mut g, a, b);
        guard("model", i, &m, &mut failures, || {
            if let Some(src) = text(name, &m)
                && let Ok(spec) = npvrisk::format::parse_model(name, &src)
            {
                accepted[0].fetch_add(1, Relaxed);
                for s in 0..spec.scenarios.len() {
                    let _ = spec.evaluate(s);
                }
                for p in npvrisk::params::all_paths(&spec) {
                    let _ = npvrisk::params::resolve(&spec, &p);
                }
                let _ = npvrisk::guard::model_warnings(name, &src, &spec);
            } else {
                refused[0].fetch_add(1, Relaxed);
            }
        });
    }

    let dists = seeds(
        &[
            "tests/fuzz/dists",
            "tests/bad_dist",
            "tests/data/council_dists.toml",
            "distributions/ey2013_default.toml",
        ],
        "toml",
    );
    for i in 0..iterations {
        let (name, a) = &dists[g.below(dists.len())];
        let (_, b) = &dists[g.below(dists.len())];
        let m = mutate(&mut g, a, b);
        guard("dists", i, &m, &mut failures, || {
            let Some(src) = text(name, &m) else {
                refused[1].fetch_add(1, Relaxed);
                return;
            };
            for model in [&ey, &council] {
                let files = [(name.clone(), src.clone())];
                let Ok(set) = npvrisk::distfile::load(model, &files) else {
                    refused[1].fetch_add(1, Relaxed);
                    continue;
                };
                accepted[1].fetch_add(1, Relaxed);
                let _ = npvrisk::guard::dist_warnings(model, &set);
                let scenario = model.scenarios.len() - 1;
                if let Ok(plan) = npvrisk::engine::Plan::new(model.clone(), scenario, set) {
                    let opts = npvrisk::engine::RunOptions {
                        draws: 64,
                        seed: 1,
                        sampler: npvrisk::sampler::SamplerKind::MonteCarlo,
                        block_size: 32,
                        skip_nonfinite: true,
                    };
                    let _ = plan.run(&opts, &|_| {});
                }
            }
        });
    }

    let published = seeds(&["distributions/ey2013_published.toml"], "toml");
    for i in 0..iterations / 4 {
        let (name, a) = &published[0];
        let m = mutate(&mut g, a, a);
        guard("published", i, &m, &mut failures, || {
            if let Some(src) = text(name, &m)
                && npvrisk::published::parse_published(name, &src).is_ok()
            {
                accepted[2].fetch_add(1, Relaxed);
            } else {
                refused[2].fetch_add(1, Relaxed);
            }
        });
    }

    // Batch manifests, written where the files their seeds name are (paths in a manifest are
    // relative to it). Fewer mutations than for the other loaders: each check loads a model and
    // the distributions of every scenario.
    let manifests = seeds(&["tests/fuzz/manifest"], "toml");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-manifest-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (to, from) in [
        ("council.toml", "tests/data/council.toml"),
        ("council_dists.toml", "tests/data/council_dists.toml"),
        ("model.toml", "templates/init/model.toml"),
        ("dists.toml", "templates/init/dists.toml"),
    ] {
        std::fs::copy(from, dir.join(to)).unwrap();
    }
    let manifest = dir.join("batch.toml");
    let mut not_input = Vec::new();
    for i in 0..iterations / 4 {
        let (_, a) = &manifests[g.below(manifests.len())];
        let (_, b) = &manifests[g.below(manifests.len())];
        let m = mutate(&mut g, a, b);
        std::fs::write(&manifest, &m).unwrap();
        guard(
            "manifest",
            i,
            &m,
            &mut failures,
            || match npvrisk::batch::validate(&manifest) {
                Ok(_) => {
                    accepted[4].fetch_add(1, Relaxed);
                }
                Err(npvrisk::error::Error::Input(_)) => {
                    refused[4].fetch_add(1, Relaxed);
                }
                Err(e) => not_input.push((i, m.clone(), e.to_string())),
            },
        );
    }
    not_bad_input("manifest", not_input, &mut failures);
    let _ = std::fs::remove_dir_all(&dir);

    // Shard and checkpoint files: the header's fields (checksum recomputed), the body's bytes
    // (checksum recomputed), and the raw file (checksum left as is).
    let shards = seeds(&["tests/fuzz/shard"], "npvshard");
    let identity = npvrisk::shard::decode_body("run", &shards[1].1)
        .map(|(h, _)| h)
        .expect("the checkpoint seed decodes");
    for i in 0..iterations {
        let (name, a) = &shards[g.below(shards.len())];
        let (header, body) = split_shard(a);
        let m = match g.below(4) {
            0 | 1 => {
                let h = mutate_header(&mut g, &header);
                join_shard(&serde_json::to_vec(&h).unwrap(), &body)
            }
            2 => {
                let h = serde_json::to_vec(&header).unwrap();
                let hm = mutate(&mut g, &h, &h);
                join_shard(&hm, &body)
            }
            _ => {
                let h = serde_json::to_vec(&header).unwrap();
                let bm = mutate(&mut g, &body, &body);
                join_shard(&h, &bm)
            }
        };
        let m = if g.below(16) == 0 {
            mutate(&mut g, &m, a)
        } else {
            m
        };
        guard("shard", i, &m, &mut failures, || {
            let decoded = npvrisk::shard::decode_body(name, &m);
            if decoded.is_err() {
                refused[3].fetch_add(1, Relaxed);
            }
            if let Ok((h, body)) = decoded {
                accepted[3].fetch_add(1, Relaxed);
                let _ = npvrisk::shard::identity_mismatch(&identity, &h);
                let _ = npvrisk::shard::check_parts(&[(name.clone(), &h)]);
                if h.content == "plan" {
                    let _ = npvrisk::stream::decode_grids(body);
                }
            }
            if let Ok((h, d)) = npvrisk::shard::decode(name, &m) {
                let _ = npvrisk::shard::merge(vec![(name.clone(), h, d)]);
            }
        });
    }

    // Shard statistics with their sieve's values (`tests/fuzz/stats`: a run of the council
    // model in two shards), merged with the other shard of their run: the merge reads the
    // statistics, checks the sieve's values against them, reads the cells it asks for again and
    // finishes the summary. A mutated shard must be merged or refused as bad input: no panic, no
    // internal error. Besides the byte mutations (of the header, the body, its last quarter,
    // where the sieve's values are, or the whole file), edits of whole 8-byte words (every
    // field of the body is one) that keep its structure, and edits of one cell's sieve values:
    // two of them swapped, which must give the same summary (a cell's values are in no order),
    // or one between the cell's smallest and largest moved within them, which must be accepted.
    // Fewer mutations than for the other loaders: each merge runs the grids' pilot.
    let stats = seeds(&["tests/fuzz/stats"], "npvshard");
    let sdir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-stats-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&sdir).unwrap();
    let paths: Vec<PathBuf> = (0..stats.len())
        .map(|k| sdir.join(format!("{k}.npvshard")))
        .collect();
    let merged = |files: &[(usize, &[u8])]| {
        for (k, bytes) in files {
            std::fs::write(&paths[*k], bytes).unwrap();
        }
        npvrisk::run::merge(&paths, None, npvrisk::export::Format::Json, None, None)
    };
    let summary = |json: &str| {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    let seeds_only: Vec<(usize, &[u8])> = stats.iter().map(|(_, b)| &b[..]).enumerate().collect();
    let reference = summary(&merged(&seeds_only).expect("the seeds merge"));
    // Each seed's cells of sieve values with at least two different values: (offset of the
    // first value, number of values).
    let cells: Vec<Vec<(usize, usize)>> = stats
        .iter()
        .map(|(name, a)| {
            let body = split_shard(a).1;
            let c = sieve_cells(&body).unwrap_or_else(|| panic!("{name}: no sieve values found"));
            c.into_iter()
                .filter(|&(at, n)| {
                    let v = words(&body[at..at + 8 * n]);
                    v.iter().any(|x| x.to_bits() != v[0].to_bits())
                })
                .collect()
        })
        .collect();
    assert!(
        cells.iter().all(|c| !c.is_empty()),
        "seeds without spread cells"
    );
    let mut not_input = Vec::new();
    let mut same = 0;
    for i in 0..(iterations / 20).max(30) {
        let k = g.below(stats.len());
        let (_, a) = &stats[k];
        let (header, body) = split_shard(a);
        let h = serde_json::to_vec(&header).unwrap();
        let at = body.len() - body.len() / 4;
        // The kind of a cell edit: two values swapped, or one moved within the cell's range.
        let (mut swapped, mut moved) = (false, false);
        let m = match g.below(10) {
            0 => join_shard(
                &serde_json::to_vec(&mutate_header(&mut g, &header)).unwrap(),
                &body,
            ),
            1 => join_shard(&h, &mutate(&mut g, &body, &body)),
            2 => {
                let mut b = body[..at].to_vec();
                b.extend(mutate(&mut g, &body[at..], &body[at..]));
                join_shard(&h, &b)
            }
            3..=5 => {
                // A word of the last quarter swapped with another, or its lowest bit flipped
                // there or anywhere in the body (a count one more or less, a moment or a value
                // moved by one unit in the last place).
                let mut b = body.clone();
                let from = if g.below(3) == 0 { 0 } else { at };
                let words = (b.len() - from) / 8;
                let w = from + 8 * g.below(words);
                if g.below(3) == 0 {
                    let v = from + 8 * g.below(words);
                    for j in 0..8 {
                        b.swap(w + j, v + j);
                    }
                } else {
                    b[w] ^= 1;
                }
                join_shard(&h, &b)
            }
            6..=8 => {
                let (c0, n) = cells[k][g.below(cells[k].len())];
                let mut v = words(&body[c0..c0 + 8 * n]);
                let (lo, hi) = v
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
                        (l.min(*x), h.max(*x))
                    });
                // One value strictly inside the cell's range moved to another point in it, or
                // (in a cell without one, or every other time) two values swapped.
                let inside: Vec<usize> = (0..n).filter(|&j| v[j] > lo && v[j] < hi).collect();
                if inside.is_empty() || g.below(2) == 0 {
                    // Two values that differ (every cell kept here has two).
                    let x = g.below(n);
                    let others: Vec<usize> = (0..n)
                        .filter(|&y| v[y].to_bits() != v[x].to_bits())
                        .collect();
                    v.swap(x, others[g.below(others.len())]);
                    swapped = true;
                } else {
                    let j = inside[g.below(inside.len())];
                    let t = (1 + g.below(7)) as f64 / 8.0;
                    v[j] = (lo + t * (hi - lo)).clamp(lo, hi);
                    moved = true;
                }
                let mut b = body.clone();
                for (j, x) in v.iter().enumerate() {
                    b[c0 + 8 * j..c0 + 8 * j + 8].copy_from_slice(&x.to_le_bytes());
                }
                join_shard(&h, &b)
            }
            _ => mutate(&mut g, a, a),
        };
        let mut files = seeds_only.clone();
        files[k].1 = &m;
        guard("stats", i, &m, &mut failures, || match merged(&files) {
            Ok(json) => {
                accepted[5].fetch_add(1, Relaxed);
                if swapped {
                    assert_eq!(summary(&json), reference, "two sieve values swapped");
                    same += 1;
                }
            }
            Err(npvrisk::error::Error::Input(e)) => {
                assert!(!swapped, "two sieve values swapped: refused ({e})");
                assert!(!moved, "a sieve value moved within its cell: refused ({e})");
                refused[5].fetch_add(1, Relaxed);
            }
            Err(e) => not_input.push((i, m.clone(), e.to_string())),
        });
    }
    assert!(same > 0, "no merge with two sieve values swapped");
    not_bad_input("stats", not_input, &mut failures);
    let _ = std::fs::remove_dir_all(&sdir);

    let accepted = accepted.map(|a| a.into_inner());
    let refused = refused.map(|a| a.into_inner());
    eprintln!(
        "fuzz: {iterations} mutations per loader; accepted: models {}, distribution sets {}, published {}, shard headers {}, manifests {}, merged statistics {}; refused: {refused:?}",
        accepted[0], accepted[1], accepted[2], accepted[3], accepted[4], accepted[5]
    );
    assert!(
        failures.is_empty(),
        "{} inputs made a loader panic:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        accepted.iter().all(|&a| a > 0),
        "some loader accepted no mutated input: {accepted:?}"
    );
    assert!(
        refused.iter().all(|&r| r > 0),
        "some loader refused no mutated input: {refused:?}"
    );
}

fn seed_from_env() -> u64 {
    std::env::var("NPVRISK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20130110)
}

/// A few hundred mutations per loader in every test run.
#[test]
fn fuzz_smoke() {
    fuzz(300, seed_from_env() ^ 0x5EED);
}

/// The CI budget: `NPVRISK_FUZZ_ITERATIONS` mutations per loader (default 20,000).
#[test]
#[ignore]
fn fuzz_loaders() {
    let n = std::env::var("NPVRISK_FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    fuzz(n, seed_from_env());
}
