//! Errors for bad input: every one names the file, line and column, the field, the value and what
//! is allowed, so a user can fix the file without reading code.

use std::fmt;

/// A located problem in an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub kind: InputErrorKind,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum InputErrorKind {
    /// A field has a value outside what is allowed.
    Value {
        field: String,
        value: String,
        allowed: String,
    },
    /// The file is not well-formed or does not match the schema (unknown or missing field, wrong
    /// type); the message comes from the parser.
    Syntax { message: String },
}

impl InputError {
    /// A value error at byte `offset` of `src`.
    pub fn value(
        file: &str,
        src: &str,
        offset: usize,
        field: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        let (line, col) = line_col(src, offset);
        InputError {
            file: file.to_string(),
            line,
            col,
            kind: InputErrorKind::Value {
                field: field.into(),
                value: value.into(),
                allowed: allowed.into(),
            },
        }
    }

    /// A parser error at byte `offset` of `src`.
    pub fn syntax(file: &str, src: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(src, offset);
        InputError {
            file: file.to_string(),
            line,
            col,
            kind: InputErrorKind::Syntax {
                message: message.into(),
            },
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        match &self.kind {
            InputErrorKind::Value {
                field,
                value,
                allowed,
            } => write!(f, "`{field}` = {value}: {allowed}"),
            InputErrorKind::Syntax { message } => write!(f, "{}", message.trim_end()),
        }
    }
}

impl std::error::Error for InputError {}

/// Why a command of the library failed: bad input (the user can fix it; exit code 2), an
/// internal or environment failure (exit 1), or a run stopped by Ctrl-C or SIGTERM after saving
/// its work (exit 130). Each message is complete as it stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Bad input or usage.
    Input(String),
    /// A bug or an environment failure.
    Internal(String),
    /// Stopped after saving its work; `saved` says what is saved and where.
    Interrupted {
        saved: String,
        dir: std::path::PathBuf,
    },
}

impl Error {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) => 2,
            Error::Internal(_) => 1,
            Error::Interrupted { .. } => 130,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(m) | Error::Internal(m) => write!(f, "{m}"),
            Error::Interrupted { saved, dir } => {
                write!(f, "interrupted: {saved} are saved in `{}`", dir.display())
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e.to_string())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Format a number for an error message: shortest round-trip form, `nan`/`inf` spelt out, and
/// in exponent form from 10^16 up (a plain 1e308 would be 309 digits) or below 10^-6.
pub fn show(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v != 0.0 && !(1e-6..1e16).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// [`show`] of `v` rounded to `digits` significant digits (at least 1). The rounding is the
/// decimal formatter's: a product and quotient by a power of ten is inexact (5e20 came out as
/// 4.9999999999999993e20).
pub fn show_significant(v: f64, digits: usize) -> String {
    let d = digits.max(1) - 1;
    show(format!("{v:.d$e}").parse().unwrap_or(v))
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let s = "ab\ncde\nf";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 4), (2, 2));
        assert_eq!(line_col(s, 7), (3, 1));
    }

    #[test]
    fn nearest_suggests_typos_only() {
        let c = ["realisation", "cashability", "delay_years"];
        assert_eq!(nearest("realisaton", c), Some("realisation"));
        assert_eq!(nearest("zzzz", c), None);
    }

    #[test]
    fn significant_digits_are_rounded_in_decimal() {
        for (v, d, want) in [
            (5e20, 4, "5e20"),
            (1.23456789, 4, "1.235"),
            (0.0123456789, 6, "0.0123457"),
            (999.96, 4, "1000"),
            (-2.0, 6, "-2"),
            (0.0, 4, "0"),
            (f64::INFINITY, 4, "inf"),
            (f64::NAN, 4, "nan"),
        ] {
            assert_eq!(show_significant(v, d), want, "{v} to {d}");
        }
    }

    #[test]
    fn numbers_in_messages_are_short_and_read_back_as_the_same_number() {
        for (v, want) in [
            (0.035, "0.035"),
            (3.0, "3"),
            (-120.5, "-120.5"),
            (0.0, "0"),
            (1e308, "1e308"),
            (2.5e19, "2.5e19"),
            (-1e16, "-1e16"),
            (9_999_999_999_999_998.0, "9999999999999998"),
            (1e15, "1000000000000000"),
            (1.5e-7, "1.5e-7"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            let s = show(v);
            assert_eq!(s, want, "{v}");
            if v.is_finite() {
                assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
            }
        }
    }
}
