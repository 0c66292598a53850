//! Money units: the unit a model file writes its amounts in (`[model] money_unit`), and the one
//! readable unit every output shows amounts in.
//!
//! The engine computes in one canonical unit, £bn: a model's amounts are converted when the file
//! is read ([`MoneyUnit::to_bn`]), a sampled or fixed value of a money parameter when it is
//! written into the inputs ([`crate::params::ParamRef::to_engine`]), and outputs convert back with
//! [`MoneyUnit::from_bn`] in the unit [`MoneyUnit::readable`] chooses from the magnitudes. For a
//! model in £bn every conversion is a multiplication or division by exactly 1, so its results are
//! bit-identical to a computation without units.

use std::fmt;

/// A unit of money: pounds, thousands, millions or billions of pounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum MoneyUnit {
    Pound,
    Thousand,
    Million,
    #[default]
    Billion,
}

impl MoneyUnit {
    /// Every unit, smallest first.
    pub const ALL: [MoneyUnit; 4] = [
        MoneyUnit::Pound,
        MoneyUnit::Thousand,
        MoneyUnit::Million,
        MoneyUnit::Billion,
    ];

    /// How the unit is written in files and outputs: "£", "£k", "£m", "£bn".
    pub fn symbol(self) -> &'static str {
        match self {
            MoneyUnit::Pound => "£",
            MoneyUnit::Thousand => "£k",
            MoneyUnit::Million => "£m",
            MoneyUnit::Billion => "£bn",
        }
    }

    /// The multiple written after an amount: "", "k", "m", "bn" (as in "£13.8m").
    pub fn suffix(self) -> &'static str {
        &self.symbol()['£'.len_utf8()..]
    }

    /// How many of this unit make £1bn (1e9, 1e6, 1e3, 1).
    pub fn per_bn(self) -> f64 {
        match self {
            MoneyUnit::Pound => 1e9,
            MoneyUnit::Thousand => 1e6,
            MoneyUnit::Million => 1e3,
            MoneyUnit::Billion => 1.0,
        }
    }

    /// The unit named `s` as written in a model file ("£m"; "m" is accepted too).
    pub fn parse(s: &str) -> Option<MoneyUnit> {
        let t = s.trim();
        let t = t.strip_prefix('£').unwrap_or(t);
        MoneyUnit::ALL.into_iter().find(|u| u.suffix() == t)
    }

    /// The unit a model file declares (`[model] money_unit`; £bn when absent), or `None` when the
    /// file cannot be read as a model with a valid unit (parsing the model reports why).
    pub fn declared(model_src: &str) -> Option<MoneyUnit> {
        #[derive(serde::Deserialize)]
        struct File {
            model: Meta,
        }
        #[derive(serde::Deserialize)]
        struct Meta {
            money_unit: Option<String>,
        }
        let f: File = toml::from_str(model_src).ok()?;
        match f.model.money_unit {
            None => Some(MoneyUnit::Billion),
            Some(u) => MoneyUnit::parse(&u),
        }
    }

    /// What [`MoneyUnit::parse`] accepts, for messages.
    pub fn allowed() -> &'static str {
        "one of \"£\", \"£k\", \"£m\", \"£bn\""
    }

    /// An amount in this unit converted to £bn (exact for £bn).
    pub fn to_bn(self, v: f64) -> f64 {
        v / self.per_bn()
    }

    /// An amount in £bn converted to this unit (exact for £bn).
    pub fn from_bn(self, v_bn: f64) -> f64 {
        v_bn * self.per_bn()
    }

    /// The readable unit for amounts whose largest absolute value is `largest_bn` (£bn): the
    /// largest unit in which that amount is at least 1 (£bn from £1bn, £m from £1m, £k from
    /// £1k, else £). The one chooser every output uses, so a run's terminal table, CSV, JSON,
    /// report and workbook speak the same unit.
    pub fn readable(largest_bn: f64) -> MoneyUnit {
        let v = largest_bn.abs();
        if !v.is_finite() {
            return MoneyUnit::Billion;
        }
        MoneyUnit::ALL
            .into_iter()
            .rev()
            .find(|u| u.from_bn(v) >= 1.0)
            .unwrap_or(MoneyUnit::Pound)
    }

    /// An amount given in £bn, written in this unit with `decimals` decimals: "-£13.8m". A value
    /// that rounds to zero is written without a sign.
    pub fn format(self, v_bn: f64, decimals: usize) -> String {
        let x = self.from_bn(v_bn);
        let digits = format!("{:.decimals$}", x.abs());
        let zero = digits.chars().all(|c| c == '0' || c == '.');
        let sign = if x < 0.0 && !zero { "-" } else { "" };
        format!("{sign}£{digits}{}", self.suffix())
    }

    /// An amount on the command line: a plain number in `default` (the model's unit), or a
    /// number with its unit, as `5m`, `£5m`, `250k`, `0.005bn` or `£400`.
    pub fn parse_amount(s: &str, default: MoneyUnit) -> Result<f64, String> {
        let t = s.trim();
        // A sign before the pound sign: `-£5m`.
        if let Some(rest) = t.strip_prefix("-£") {
            if rest.starts_with(['-', '+']) {
                return Err(bad_amount(s));
            }
            return MoneyUnit::parse_amount(&format!("£{rest}"), default).map(|v| -v);
        }
        let money = t.strip_prefix('£').unwrap_or(t);
        let number = |x: &str| x.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        for u in [MoneyUnit::Billion, MoneyUnit::Million, MoneyUnit::Thousand] {
            if let Some(x) = money.strip_suffix(u.suffix()) {
                return number(x).map(|v| u.to_bn(v)).ok_or_else(|| bad_amount(s));
            }
        }
        let unit = if money.len() != t.len() {
            MoneyUnit::Pound
        } else {
            default
        };
        number(money)
            .map(|v| unit.to_bn(v))
            .ok_or_else(|| bad_amount(s))
    }
}

fn bad_amount(s: &str) -> String {
    format!(
        "{s:?} is not an amount: give a finite number in the model's money unit, or with its unit (5m, £5m, 250k, 0.005bn, £400)"
    )
}

impl fmt::Display for MoneyUnit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl serde::Serialize for MoneyUnit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_convert() {
        for u in MoneyUnit::ALL {
            assert_eq!(MoneyUnit::parse(u.symbol()), Some(u));
            assert_eq!(MoneyUnit::parse(u.suffix()), Some(u));
        }
        assert_eq!(MoneyUnit::parse("£M"), None);
        assert_eq!(MoneyUnit::parse("bn£"), None);
        assert!((MoneyUnit::Million.to_bn(13.8) - 0.0138).abs() <= 2e-18);
        // £bn converts by exactly 1: the bits are unchanged.
        for v in [0.1, 1.0 / 3.0, 6.152299, -2.5e-7] {
            assert_eq!(MoneyUnit::Billion.to_bn(v).to_bits(), v.to_bits());
            assert_eq!(MoneyUnit::Billion.from_bn(v).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn readable_unit_follows_the_magnitude() {
        assert_eq!(MoneyUnit::readable(20.6), MoneyUnit::Billion);
        assert_eq!(MoneyUnit::readable(1.0), MoneyUnit::Billion);
        assert_eq!(MoneyUnit::readable(0.999), MoneyUnit::Million);
        assert_eq!(MoneyUnit::readable(-0.0138), MoneyUnit::Million);
        assert_eq!(MoneyUnit::readable(0.0004), MoneyUnit::Thousand);
        assert_eq!(MoneyUnit::readable(2e-7), MoneyUnit::Pound);
        assert_eq!(MoneyUnit::readable(0.0), MoneyUnit::Pound);
        assert_eq!(MoneyUnit::readable(f64::NAN), MoneyUnit::Billion);
    }

    #[test]
    fn amounts_format_with_their_unit() {
        assert_eq!(MoneyUnit::Billion.format(-1.5, 1), "-£1.5bn");
        assert_eq!(MoneyUnit::Million.format(0.0025, 1), "£2.5m");
        assert_eq!(MoneyUnit::Million.format(-0.00001, 1), "£0.0m");
        assert_eq!(MoneyUnit::Pound.format(4e-7, 0), "£400");
    }

    #[test]
    fn command_line_amounts() {
        let m = MoneyUnit::Million;
        assert_eq!(MoneyUnit::parse_amount("5", m), Ok(0.005));
        assert_eq!(MoneyUnit::parse_amount("5m", MoneyUnit::Billion), Ok(0.005));
        assert_eq!(MoneyUnit::parse_amount("£5m", m), Ok(0.005));
        assert_eq!(MoneyUnit::parse_amount("2bn", m), Ok(2.0));
        assert_eq!(MoneyUnit::parse_amount("250k", m), Ok(0.00025));
        assert_eq!(MoneyUnit::parse_amount("£400", m), Ok(4e-7));
        assert_eq!(
            MoneyUnit::parse_amount("-1.5", MoneyUnit::Billion),
            Ok(-1.5)
        );
        assert_eq!(MoneyUnit::parse_amount("-£2m", m), Ok(-0.002));
        assert!(MoneyUnit::parse_amount("-£-2m", m).is_err());
        for bad in ["", "abc", "nan", "5x", "£", "infm"] {
            assert!(MoneyUnit::parse_amount(bad, m).is_err(), "{bad}");
        }
    }
}
