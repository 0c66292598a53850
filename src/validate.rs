//! `npvrisk validate`: check model files, distribution files and batch manifests, each
//! recognised by its content (not its extension), and report the first located mistake in each.

use std::path::Path;

use npvrisk::distfile;
use npvrisk::error::InputError;
use npvrisk::format::{Layout, parse_model_with_layout};
use npvrisk::model::ModelSpec;

use crate::Failure;
use npvrisk::input::read_input;
use npvrisk::run::dist_files;

/// What a file is, from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Model,
    Distributions,
    Manifest,
    Published,
}

/// Recognise a file by its top-level tables and keys: `[[input]]` or `[correlation]` make a
/// distribution file; `reference`, `[[scenario]]`, `[grid]` or `draws` a batch manifest; `[total]`
/// a published-figures file (as `reproduce --published` reads); a file with nothing but a
/// `description`, or nothing, a distribution file of no inputs; anything else is read as a model
/// file (whose parser then names any unknown field). The file is scanned, not parsed (so a file
/// that is not valid TOML is recognised too, and its syntax error reported by the right parser,
/// and a large file is read once by its own parser): the top-level names are the first part of
/// each table header and the keys before the first header.
pub fn kind_of(src: &str) -> Kind {
    fn first(t: &str) -> &str {
        t.split(['=', '.', ']', ' ', '\t'])
            .next()
            .unwrap_or("")
            .trim_matches(['"', '\''])
    }
    // Which of the names that decide the kind occur (no allocation per line: a model file may
    // have millions).
    const NAMES: [&str; 7] = [
        "input",
        "correlation",
        "reference",
        "scenario",
        "grid",
        "draws",
        "total",
    ];
    let mut seen = [false; NAMES.len()];
    // Whether any other top-level name but `description` occurs.
    let mut others = false;
    let mut in_tables = false;
    let mut in_string = false;
    // Lines inside a multi-line string are not keys; most files have none, and counting the
    // delimiters on every line of a large file costs more than the rest of this scan.
    let multiline = src.contains("\"\"\"") || src.contains("'''");
    for line in src.lines() {
        let l = line.trim();
        let quotes = if multiline {
            l.matches("\"\"\"").count() + l.matches("'''").count()
        } else {
            0
        };
        if in_string {
            in_string = quotes % 2 == 0;
            continue;
        }
        if quotes % 2 == 1 {
            in_string = true;
        }
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let name = if let Some(h) = l.strip_prefix('[') {
            in_tables = true;
            first(h.trim_start_matches('[').trim())
        } else if !in_tables {
            first(l)
        } else {
            continue;
        };
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            seen[i] = true;
        } else if name != "description" {
            others = true;
        }
    }
    let has = |k: &str| NAMES.iter().zip(seen).any(|(n, s)| *n == k && s);
    // An empty file, or one with only a description, is a distribution file of no inputs, as
    // `run --dist` reads it.
    if has("input") || has("correlation") || !(others || seen.contains(&true)) {
        Kind::Distributions
    } else if has("reference") || has("scenario") || has("grid") || has("draws") {
        Kind::Manifest
    } else if has("total") {
        Kind::Published
    } else {
        Kind::Model
    }
}

/// The model that distribution files are checked against: its name and spec, or why there is
/// none.
type Against<'m> = Result<(String, &'m ModelSpec), String>;

/// Check one file (`f`, read as `src`); a one-line description when it is valid. `parsed` is the
/// file's own parse when it is the model the distribution files are checked against (parsed once
/// for both).
fn check(
    f: &Path,
    src: String,
    kind: Kind,
    parsed: Option<&Result<(ModelSpec, Layout), InputError>>,
    model: &Against,
    embedded: bool,
) -> Result<String, Failure> {
    let name = f.display().to_string();
    match kind {
        Kind::Model => {
            let own;
            let (m, layout) = match parsed {
                Some(p) => p,
                None => {
                    own = parse_model_with_layout(&name, &src);
                    &own
                }
            }
            .as_ref()
            .map(|(m, l)| (m, l))
            .map_err(|e| Failure::Input(e.to_string()))?;
            npvrisk::guard::check_with(&name, &src, m, layout, None)?;
            // Each scenario's own values must give outcomes a run can summarise, as `run` checks.
            for s in 0..m.scenarios.len() {
                npvrisk::engine::Plan::new(m.clone(), s, distfile::DistSet::default())?
                    .check_point_values(&name, &src, layout)?;
            }
            Ok(format!(
                "model file: {}, {}, scenarios {:?}",
                npvrisk::text::count(m.themes.len(), "theme", "themes"),
                npvrisk::text::count(m.partners.len(), "partner", "partners"),
                m.scenarios
            ))
        }
        Kind::Distributions => {
            let model = model
                .as_ref()
                .map_err(|why| Failure::Input(format!("{name}: {why}")))?;
            // On the embedded model a file is overlaid on the default distributions (as `run`
            // does), so that it may refer to their inputs (`follow`, `[correlation]`).
            let (files, defaults) =
                dist_files(embedded, false, vec![(name.clone(), src)]).map_err(Failure::Input)?;
            let set = distfile::load(model.1, &files).map_err(|e| Failure::Input(e.to_string()))?;
            npvrisk::guard::emit(npvrisk::guard::dist_warnings(model.1, &set))?;
            let mine = &set.layers[defaults];
            let corr = if let Ok((_, _, Some((_, names, _)))) =
                distfile::parse_dist_file(&name, &files[defaults].1, model.1)
            {
                format!(", a correlation of {} inputs", names.len())
            } else {
                String::new()
            };
            let over = if defaults > 0 {
                format!(
                    " ({} overriding the {} default distributions)",
                    mine.overriding,
                    set.layers[..defaults]
                        .iter()
                        .map(|l| l.inputs)
                        .sum::<usize>()
                )
            } else {
                String::new()
            };
            Ok(format!(
                "distribution file for {}: {}{over}{corr}",
                model.0,
                npvrisk::text::count(mine.inputs, "input", "inputs")
            ))
        }
        Kind::Manifest => npvrisk::batch::validate(f),
        Kind::Published => {
            let p = npvrisk::published::parse_published(&name, &src)
                .map_err(|e| Failure::Input(e.to_string()))?;
            Ok(format!(
                "published-figures file: {}, {}",
                npvrisk::text::count(p.themes.len(), "theme", "themes"),
                npvrisk::text::count(p.partners.len(), "partner", "partners")
            ))
        }
    }
}

/// `npvrisk validate FILE... [--model M]`: every file is checked (not only up to the first bad
/// one); exit 2 when any is rejected. Distribution files are checked against `--model`, else
/// against the one model file among the files (as in `npvrisk validate mycase/*`), else (no model
/// file among them) against the embedded model; with several model files among them they are not
/// checked, and say why. Each file is read once, and that model file parsed once.
pub fn validate(files: &[std::path::PathBuf], model: Option<&Path>) -> Result<(), Failure> {
    let texts: Vec<Result<(String, Kind), Failure>> = files
        .iter()
        .map(|f| {
            read_input(f).map(|src| {
                let kind = kind_of(&src);
                (src, kind)
            })
        })
        .collect();
    let sibling: Vec<usize> = if model.is_some() {
        Vec::new()
    } else {
        // The same file named twice (`m.toml ./m.toml`) is one model.
        let mut seen = std::collections::HashSet::new();
        (0..files.len())
            .filter(|&i| matches!(&texts[i], Ok((_, Kind::Model))))
            .filter(|&i| seen.insert(std::fs::canonicalize(&files[i]).unwrap_or(files[i].clone())))
            .collect()
    };
    // Its own check below reports its errors and warnings.
    let parsed = match sibling.as_slice() {
        [one] => texts[*one].as_ref().ok().map(|(src, _)| {
            let name = files[*one].display().to_string();
            (*one, parse_model_with_layout(&name, src))
        }),
        _ => None,
    };
    let embedded = sibling.is_empty() && model.is_none();
    let loaded;
    let m: Against = match &parsed {
        Some((i, Ok((spec, _)))) => Ok((files[*i].display().to_string(), spec)),
        Some((i, Err(_))) => Err(format!(
            "not checked: its model file {} (the one among the files) is rejected",
            files[*i].display()
        )),
        // Several model files: which one a distribution file describes is not guessed.
        None if sibling.len() > 1 => Err(format!(
            "not checked: the files hold {} model files ({}); name the one it describes with `--model`, or validate each case's files apart",
            sibling.len(),
            sibling
                .iter()
                .map(|&i| files[i].display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => {
            loaded = crate::load_model(model)?;
            Ok((loaded.0.clone(), &loaded.1))
        }
    };
    let mut bad = 0;
    for (i, (f, text)) in files.iter().zip(texts).enumerate() {
        let own = parsed.as_ref().filter(|(s, _)| *s == i).map(|(_, p)| p);
        let checked = text.and_then(|(src, kind)| check(f, src, kind, own, &m, embedded));
        match checked {
            Ok(what) => eprintln!("{}: ok, {what}", f.display()),
            Err(Failure::Input(e)) => {
                eprintln!("error: {e}");
                bad += 1;
            }
            Err(other) => return Err(other),
        }
    }
    if bad > 0 {
        Err(Failure::Input(format!(
            "{bad} of {} files rejected",
            files.len()
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_content() {
        let dists = npvrisk::embedded::EY2013_DISTS;
        assert_eq!(kind_of(dists), Kind::Distributions);
        assert_eq!(kind_of(npvrisk::embedded::EY2013_MODEL), Kind::Model);
        assert_eq!(
            kind_of(npvrisk::embedded::EY2013_PUBLISHED),
            Kind::Published
        );
        assert_eq!(
            kind_of("draws = 10\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n"),
            Kind::Manifest
        );
        // Not valid TOML: recognised from its lines.
        assert_eq!(
            kind_of("[[input]]\npath = \"x\nkind = 3\n"),
            Kind::Distributions
        );
        assert_eq!(kind_of("reference = \nscenario"), Kind::Manifest);
        // Names inside a multi-line string, or nested in a table, are not top-level names.
        let m = "[model]\nname = \"x\"\nnotes = \"\"\"\n[[input]]\ndraws = 3\n\"\"\"\n[[themes]]\nreference = 1\n";
        assert_eq!(kind_of(m), Kind::Model);
        // A dotted or quoted key before the first table is a top-level name.
        assert_eq!(kind_of("draws.n = 4\n[x]\n"), Kind::Manifest);
        assert_eq!(kind_of("\"total\" = 1\n"), Kind::Published);
        // A file with nothing but a description (or nothing at all) is the distribution file
        // of no inputs that `run --dist` accepts; any other name leaves it to the model parser.
        assert_eq!(kind_of(""), Kind::Distributions);
        assert_eq!(kind_of("# none\n\n"), Kind::Distributions);
        assert_eq!(kind_of("description = \"x\"\n"), Kind::Distributions);
        assert_eq!(kind_of("description = \"x\"\n[modle]\n"), Kind::Model);
        assert_eq!(kind_of("name = \"x\"\n"), Kind::Model);
    }
}
