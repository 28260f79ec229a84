//! The evaluation scheme (weights, count bands, grades) as configured in TOML.
//!
//! The format is that of `defaults.toml`. A deployment layers its own settings on top with
//! [`EvaluationScheme::from_toml_with_overlay`] and may only evaluate with a [`ValidScheme`], so
//! scores are never published from weights that do not add up or bands that leave counts unscored.

use std::collections::BTreeMap;
use std::fmt;

use cityloop_domain::rules::AreaClass;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalogue::{BAND_TABLES, SchemeKind, Scoring, scores};

/// `defaults.toml` exactly as shipped in the shared reference data (see `data/README.md`). It does
/// **not** validate: its region weights add up to 0.70 and two acceptor indicators cannot be
/// measured in cityloop. Layer a city's settings on it with
/// [`EvaluationScheme::from_toml_with_overlay`]; [`EXAMPLE_CITY_OVERLAY_TOML`] shows how.
pub const DEFAULT_SCHEME_TOML: &str = include_str!("../data/defaults.toml");

/// An example overlay that makes [`DEFAULT_SCHEME_TOML`] valid. Its values illustrate the format;
/// the city decides the real ones.
pub const EXAMPLE_CITY_OVERLAY_TOML: &str = include_str!("../data/city-overlay.example.toml");

/// Tolerance for "weights add up to 1.0": the TOML values are decimals that f64 cannot represent
/// exactly, so an exact comparison would reject `0.4 + 0.2 + 0.2 + 0.2`.
const WEIGHT_SUM_TOLERANCE: f64 = 1e-9;

/// Known period names (the scheme only lists them; periods themselves are date ranges).
const PERIODS: [&str; 4] = ["week", "month", "quarter", "year"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationScheme {
    #[serde(default)]
    pub periods: Vec<String>,
    #[serde(default)]
    pub grades: Vec<GradeDef>,
    /// `inspector`, `acceptor`, `shift_leader`, `dispatcher`.
    #[serde(default)]
    pub position: BTreeMap<String, WeightsSection>,
    #[serde(default)]
    pub department: Option<WeightsSection>,
    #[serde(default)]
    pub region: Option<RegionSection>,
    #[serde(default)]
    pub bands: BTreeMap<String, Vec<Band>>,
    #[serde(default)]
    pub timers: Option<Timers>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSection {
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSection {
    /// The file's marker that these weights are local values, not the standard.
    #[serde(default)]
    pub weights_are_local: bool,
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Area class (一类/二类区域) of streets, communities or grids by code; an area not listed takes
    /// the class of the nearest listed area containing it, else 一类. Decides which 立案数 band
    /// table scores the area.
    #[serde(default)]
    pub classes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeDef {
    pub grade: String,
    /// Lowest composite score (inclusive) that earns this grade.
    pub min_score: f64,
}

/// One count band: `min..=max` (inclusive), `max = None` meaning "and above".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: u64,
    #[serde(default)]
    pub max: Option<u64>,
    pub score: f64,
}

/// Warning/overdue fractions of step timers; carried for the app, not used in scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timers {
    pub warning_at_fraction: f64,
    pub overdue_at_fraction: f64,
}

#[derive(Debug, Error)]
pub enum SchemeError {
    #[error("scheme TOML: {0}")]
    Toml(#[from] toml::de::Error),
}

/// One reason a scheme cannot be used. `validate` lists all of them at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum SchemeProblem {
    UnknownObjectKind {
        table: String,
    },
    MissingWeights {
        kind: SchemeKind,
    },
    UnknownIndicator {
        kind: SchemeKind,
        indicator: String,
    },
    NotDerivable {
        kind: SchemeKind,
        indicator: String,
        why: &'static str,
    },
    BadWeight {
        kind: SchemeKind,
        indicator: String,
        weight: f64,
    },
    WeightSum {
        kind: SchemeKind,
        sum: f64,
    },
    MissingBand {
        table: String,
        needed_by: SchemeKind,
    },
    UnknownBand {
        table: String,
    },
    EmptyBand {
        table: String,
    },
    BandNotFromZero {
        table: String,
        min: u64,
    },
    BandMinAboveMax {
        table: String,
        min: u64,
        max: u64,
    },
    BandOverlap {
        table: String,
        first: (u64, Option<u64>),
        second: (u64, Option<u64>),
    },
    BandGap {
        table: String,
        /// First uncovered count.
        from: u64,
        /// Last uncovered count.
        to: u64,
    },
    BandNoOpenEnd {
        table: String,
        last_max: u64,
    },
    BandScore {
        table: String,
        score: f64,
    },
    NoGrades,
    GradeBound {
        grade: String,
        min_score: f64,
    },
    DuplicateGrade {
        grade: String,
    },
    DuplicateGradeBound {
        min_score: f64,
    },
    GradesGap {
        /// Scores in `[0, below)` get no grade.
        below: f64,
    },
    UnknownPeriod {
        period: String,
    },
    BadAreaClass {
        area: String,
        class: String,
    },
}

impl fmt::Display for SchemeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SchemeProblem as P;
        match self {
            P::UnknownObjectKind { table } => write!(f, "[{table}]: unknown object kind"),
            P::MissingWeights { kind } => write!(f, "[{kind}]: no weights"),
            P::UnknownIndicator { kind, indicator } => {
                write!(f, "[{kind}] {indicator}: unknown indicator")
            }
            P::NotDerivable {
                kind,
                indicator,
                why,
            } => write!(f, "[{kind}] {indicator}: cannot be measured: {why}"),
            P::BadWeight {
                kind,
                indicator,
                weight,
            } => write!(f, "[{kind}] {indicator} = {weight}: must be 0 to 1"),
            P::WeightSum { kind, sum } => {
                write!(f, "[{kind}]: weights add up to {sum:.4}, not 1.0")
            }
            P::MissingBand { table, needed_by } => {
                write!(f, "[[bands.{table}]] is missing (needed by [{needed_by}])")
            }
            P::UnknownBand { table } => write!(f, "[[bands.{table}]]: unknown band table"),
            P::EmptyBand { table } => write!(f, "[[bands.{table}]]: no bands"),
            P::BandNotFromZero { table, min } => {
                write!(f, "[[bands.{table}]]: counts 0..={} have no band", min - 1)
            }
            P::BandMinAboveMax { table, min, max } => {
                write!(f, "[[bands.{table}]]: min {min} > max {max}")
            }
            P::BandOverlap {
                table,
                first,
                second,
            } => write!(
                f,
                "[[bands.{table}]]: bands {first:?} and {second:?} overlap"
            ),
            P::BandGap { table, from, to } => {
                write!(f, "[[bands.{table}]]: counts {from}..={to} have no band")
            }
            P::BandNoOpenEnd { table, last_max } => write!(
                f,
                "[[bands.{table}]]: counts above {last_max} have no band (omit the last max)"
            ),
            P::BandScore { table, score } => {
                write!(f, "[[bands.{table}]]: score {score} is not 0 to 100")
            }
            P::NoGrades => write!(f, "[[grades]]: none"),
            P::GradeBound { grade, min_score } => {
                write!(f, "grade {grade}: min_score {min_score} is not 0 to 100")
            }
            P::DuplicateGrade { grade } => write!(f, "grade {grade} is defined twice"),
            P::DuplicateGradeBound { min_score } => {
                write!(f, "two grades start at {min_score}")
            }
            P::GradesGap { below } => write!(f, "scores below {below} get no grade"),
            P::UnknownPeriod { period } => write!(f, "unknown period `{period}`"),
            P::BadAreaClass { area, class } => write!(
                f,
                "[region.classes] {area} = \"{class}\": not an area class (一类 or 二类)"
            ),
        }
    }
}

impl EvaluationScheme {
    pub fn from_toml(text: &str) -> Result<Self, SchemeError> {
        Ok(toml::from_str(text)?)
    }

    /// `base` with a city's `overlay` on top. Tables merge key by key, except that a `weights`
    /// table replaces the base one entirely (weights only make sense as a complete set, and a
    /// merge could never remove a default indicator). Arrays (bands, grades) replace the base array.
    pub fn from_toml_with_overlay(base: &str, overlay: &str) -> Result<Self, SchemeError> {
        let mut merged: toml::Table = toml::from_str(base)?;
        let top: toml::Table = toml::from_str(overlay)?;
        merge(&mut merged, top);
        Ok(toml::Value::Table(merged).try_into()?)
    }

    /// Class of an area: its own entry, else that of the longest listed code it starts with
    /// (area codes nest: street ⊂ community ⊂ grid), else 一类.
    pub fn area_class(&self, code: &str) -> AreaClass {
        let Some(region) = &self.region else {
            return AreaClass::First;
        };
        region
            .classes
            .iter()
            .filter(|(area, _)| code.starts_with(area.as_str()))
            .max_by_key(|(area, _)| area.len())
            .and_then(|(_, class)| class.parse().ok())
            .unwrap_or(AreaClass::First)
    }

    /// The weights of one object kind, if the scheme has a table for it.
    pub fn weights(&self, kind: SchemeKind) -> Option<&BTreeMap<String, f64>> {
        let position = |name: &str| self.position.get(name).map(|s| &s.weights);
        match kind {
            SchemeKind::Inspector => position("inspector"),
            SchemeKind::Acceptor => position("acceptor"),
            SchemeKind::ShiftLeader => position("shift_leader"),
            SchemeKind::Dispatcher => position("dispatcher"),
            SchemeKind::Department => self.department.as_ref().map(|s| &s.weights),
            SchemeKind::Region => self.region.as_ref().map(|s| &s.weights),
        }
    }

    /// Every problem at once; empty means the scheme may be used.
    pub fn validate(&self) -> Vec<SchemeProblem> {
        let mut out = Vec::new();
        for name in self.position.keys() {
            if !["inspector", "acceptor", "shift_leader", "dispatcher"].contains(&name.as_str()) {
                out.push(SchemeProblem::UnknownObjectKind {
                    table: format!("position.{name}"),
                });
            }
        }
        for kind in SchemeKind::ALL {
            self.validate_weights(kind, &mut out);
        }
        for table in self.bands.keys() {
            if !BAND_TABLES.contains(&table.as_str()) {
                out.push(SchemeProblem::UnknownBand {
                    table: table.clone(),
                });
            }
        }
        for (table, bands) in &self.bands {
            validate_bands(table, bands, &mut out);
        }
        validate_grades(&self.grades, &mut out);
        if let Some(region) = &self.region {
            for (area, class) in &region.classes {
                if class.parse::<AreaClass>().is_err() {
                    out.push(SchemeProblem::BadAreaClass {
                        area: area.clone(),
                        class: class.clone(),
                    });
                }
            }
        }
        for period in &self.periods {
            if !PERIODS.contains(&period.as_str()) {
                out.push(SchemeProblem::UnknownPeriod {
                    period: period.clone(),
                });
            }
        }
        out
    }

    fn validate_weights(&self, kind: SchemeKind, out: &mut Vec<SchemeProblem>) {
        let Some(weights) = self.weights(kind).filter(|w| !w.is_empty()) else {
            out.push(SchemeProblem::MissingWeights { kind });
            return;
        };
        let known = scores(kind);
        let mut sum = 0.0;
        for (key, &weight) in weights {
            match known.iter().find(|s| s.key == key) {
                None => out.push(SchemeProblem::UnknownIndicator {
                    kind,
                    indicator: key.clone(),
                }),
                Some(def) => {
                    if let Scoring::NotDerivable(why) = def.scoring
                        && weight != 0.0
                    {
                        out.push(SchemeProblem::NotDerivable {
                            kind,
                            indicator: key.clone(),
                            why,
                        });
                    }
                    let band = match def.scoring {
                        Scoring::Band(table) => vec![table],
                        Scoring::RegionFiledBand => {
                            vec!["region_class1_filed", "region_class2_filed"]
                        }
                        _ => Vec::new(),
                    };
                    for table in band {
                        if weight != 0.0 && !self.bands.contains_key(table) {
                            out.push(SchemeProblem::MissingBand {
                                table: table.to_owned(),
                                needed_by: kind,
                            });
                        }
                    }
                }
            }
            if !(0.0..=1.0).contains(&weight) {
                out.push(SchemeProblem::BadWeight {
                    kind,
                    indicator: key.clone(),
                    weight,
                });
            }
            sum += weight;
        }
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE || !sum.is_finite() {
            out.push(SchemeProblem::WeightSum { kind, sum });
        }
    }

    /// The scheme, once it has no problems.
    pub fn validated(self) -> Result<ValidScheme, Vec<SchemeProblem>> {
        let problems = self.validate();
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut grades = self.grades.clone();
        grades.sort_by(|a, b| b.min_score.total_cmp(&a.min_score));
        let mut bands = self.bands.clone();
        for list in bands.values_mut() {
            list.sort_by_key(|b| b.min);
        }
        Ok(ValidScheme {
            scheme: self,
            grades,
            bands,
        })
    }
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if key != "weights" => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn validate_bands(table: &str, bands: &[Band], out: &mut Vec<SchemeProblem>) {
    let t = || table.to_owned();
    if bands.is_empty() {
        out.push(SchemeProblem::EmptyBand { table: t() });
        return;
    }
    let mut sorted: Vec<&Band> = bands.iter().collect();
    sorted.sort_by_key(|b| (b.min, b.max.unwrap_or(u64::MAX)));
    for b in &sorted {
        if let Some(max) = b.max
            && b.min > max
        {
            out.push(SchemeProblem::BandMinAboveMax {
                table: t(),
                min: b.min,
                max,
            });
        }
        if !(0.0..=100.0).contains(&b.score) {
            out.push(SchemeProblem::BandScore {
                table: t(),
                score: b.score,
            });
        }
    }
    if let Some(first) = sorted.first()
        && first.min > 0
    {
        out.push(SchemeProblem::BandNotFromZero {
            table: t(),
            min: first.min,
        });
    }
    // Walk in order of `min`: each band must start right after the previous one ends.
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        match a.max {
            None => out.push(SchemeProblem::BandOverlap {
                table: t(),
                first: (a.min, a.max),
                second: (b.min, b.max),
            }),
            Some(max) if b.min <= max => out.push(SchemeProblem::BandOverlap {
                table: t(),
                first: (a.min, a.max),
                second: (b.min, b.max),
            }),
            Some(max) if b.min > max.saturating_add(1) => out.push(SchemeProblem::BandGap {
                table: t(),
                from: max + 1,
                to: b.min - 1,
            }),
            Some(_) => {}
        }
    }
    if let Some(last) = sorted.last()
        && let Some(last_max) = last.max
    {
        out.push(SchemeProblem::BandNoOpenEnd {
            table: t(),
            last_max,
        });
    }
}

fn validate_grades(grades: &[GradeDef], out: &mut Vec<SchemeProblem>) {
    if grades.is_empty() {
        out.push(SchemeProblem::NoGrades);
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    let mut bounds: Vec<f64> = Vec::new();
    for g in grades {
        if !g.min_score.is_finite() || !(0.0..=100.0).contains(&g.min_score) {
            out.push(SchemeProblem::GradeBound {
                grade: g.grade.clone(),
                min_score: g.min_score,
            });
        }
        if names.contains(&g.grade.as_str()) {
            out.push(SchemeProblem::DuplicateGrade {
                grade: g.grade.clone(),
            });
        }
        names.push(&g.grade);
        if bounds.contains(&g.min_score) {
            out.push(SchemeProblem::DuplicateGradeBound {
                min_score: g.min_score,
            });
        }
        bounds.push(g.min_score);
    }
    let lowest = bounds.iter().copied().fold(f64::INFINITY, f64::min);
    if lowest > 0.0 {
        out.push(SchemeProblem::GradesGap { below: lowest });
    }
}

/// A scheme that passed [`EvaluationScheme::validate`]; the only kind [`crate::evaluate`] accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScheme {
    scheme: EvaluationScheme,
    /// Highest `min_score` first.
    grades: Vec<GradeDef>,
    /// Each table sorted by `min`.
    bands: BTreeMap<String, Vec<Band>>,
}

impl ValidScheme {
    pub fn scheme(&self) -> &EvaluationScheme {
        &self.scheme
    }

    /// Weights of the kind (present: validation requires them).
    pub fn weights(&self, kind: SchemeKind) -> impl Iterator<Item = (&str, f64)> {
        self.scheme
            .weights(kind)
            .into_iter()
            .flatten()
            .map(|(k, w)| (k.as_str(), *w))
    }

    /// Score of a (possibly fractional) count: the band with the greatest `min` not above it, so a
    /// per-grid average of 2.5 falls in the band that starts at 1 or 2, never in a gap.
    pub fn band_score(&self, table: &str, value: f64) -> Option<f64> {
        self.bands
            .get(table)?
            .iter()
            .rev()
            .find(|b| (b.min as f64) <= value)
            .map(|b| b.score)
    }

    /// Grade of a composite score: the grade with the highest `min_score` not above it.
    pub fn grade(&self, score: f64) -> Option<&str> {
        self.grades
            .iter()
            .find(|g| score >= g.min_score)
            .map(|g| g.grade.as_str())
    }
}
