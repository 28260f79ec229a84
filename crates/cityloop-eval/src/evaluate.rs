//! Figures, scores, composite (综合指标值), grades, ranking and trend from period counters.

use std::collections::{BTreeMap, BTreeSet};

use cityloop_domain::rules::AreaClass;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Formula, ObjectKind, ObjectRef, Scoring, figures, scores};
use crate::rollup::{Tallies, Tally};
use crate::scheme::ValidScheme;

/// One indicator value, explainable case by case.
///
/// Counts: `value = numerator`, `denominator = 0`. Rates: `value = numerator / denominator`, or
/// `None` when the denominator is 0 (an undefined rate is neither 0 % nor 100 %). The case lists are
/// filled when the figure was computed from facts and empty when it came from rollups; a case
/// appears once per credit (a case verified twice is listed twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub value: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
    pub cases_num: Vec<String>,
    pub cases_den: Vec<String>,
}

impl Figure {
    pub fn count(n: u64, cases: Vec<String>) -> Self {
        Figure {
            value: Some(n as f64),
            numerator: n,
            denominator: 0,
            cases_num: cases,
            cases_den: Vec::new(),
        }
    }

    pub fn rate(num: u64, den: u64, cases_num: Vec<String>, cases_den: Vec<String>) -> Self {
        Figure {
            value: (den > 0).then(|| num as f64 / den as f64),
            numerator: num,
            denominator: den,
            cases_num,
            cases_den,
        }
    }
}

/// Area class and size, for the region 立案数 band (which is per grid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaInfo {
    pub class: AreaClass,
    /// Unit grids in the area (1 for a grid).
    pub grids: u32,
}

/// What the events cannot tell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalInputs {
    /// 漏报率 per inspector: `numerator` = 漏报数 (problems in the inspector's area found by others),
    /// `denominator` = 立案数 in that area, for the same period. Without it the indicator is
    /// undefined and its weight drops out of the composite.
    pub missed_reports: BTreeMap<i64, Figure>,
    /// Class and grid count of streets, communities and grids. A grid without an entry is taken
    /// as one class-1 grid; a street or community without one gets no 立案数 band score.
    pub areas: BTreeMap<ObjectRef, AreaInfo>,
    /// Objects to evaluate even without any activity in the period (e.g. every grid).
    pub roster: Vec<ObjectRef>,
    /// 满意率 of departments and areas from the reporters' follow-up answers (回访): numerator
    /// satisfied, denominator rated. Without an entry the figure is absent.
    #[serde(default)]
    pub satisfaction: BTreeMap<ObjectRef, Figure>,
}

/// One weighted indicator of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorScore {
    pub key: String,
    pub weight: f64,
    /// What was scored: the rate, the count, or for regions 立案数 per grid.
    pub input: Option<f64>,
    /// 0–100, `None` when the input is undefined.
    pub score: Option<f64>,
}

/// Change against a previous evaluation of the same object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub previous_composite: Option<f64>,
    pub previous_rank: Option<u32>,
    /// `composite − previous_composite`.
    pub score_delta: Option<f64>,
    /// `previous_rank − rank`: positive means the object moved up.
    pub rank_delta: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectEvaluation {
    pub object: ObjectRef,
    pub figures: BTreeMap<String, Figure>,
    pub scores: Vec<IndicatorScore>,
    /// 综合指标值, rounded to 6 decimals; `None` when no weighted indicator is defined.
    pub composite: Option<f64>,
    pub grade: Option<String>,
    /// 1-based within the object kind; `None` without a composite.
    pub rank: Option<u32>,
    pub trend: Option<Trend>,
    pub notes: Vec<String>,
}

/// All objects, grouped by kind and ordered by rank (unranked last, by id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub objects: Vec<ObjectEvaluation>,
}

impl Evaluation {
    pub fn get(&self, object: &ObjectRef) -> Option<&ObjectEvaluation> {
        self.objects.iter().find(|o| &o.object == object)
    }
}

/// Rounding the composite keeps decimal weights from grading 89.99999999999999 as B instead of A
/// and makes ranks independent of summation order.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn figure_of(formula: Formula, tally: &Tally) -> Option<Figure> {
    let list = |c| {
        tally
            .cases
            .as_ref()
            .and_then(|m| m.get(&c))
            .cloned()
            .unwrap_or_default()
    };
    match formula {
        Formula::Count(c) => Some(Figure::count(tally.counts.get(c), list(c))),
        Formula::Rate { num, den } => Some(Figure::rate(
            tally.counts.get(num),
            tally.counts.get(den),
            list(num),
            list(den),
        )),
        Formula::External => None,
    }
}

/// Evaluates every object of the period's counters. The composite is the scheme's weighted sum
/// `Σ wᵢ·sᵢ` (defaults.toml / domain-standards §8) where
/// * rate indicators score `rate × 100`, "lower is better" rates `(1 − rate) × 100` (clamped 0–100),
/// * count indicators score their band; a region's 立案数 is divided by its grid count first,
///
/// and an indicator whose rate is undefined (empty denominator) drops out with its weight:
/// composite = `Σ wᵢ·sᵢ / Σ wᵢ` over defined indicators, which equals the plain weighted sum when
/// all are defined (weights add up to 1). Ranks are 1-based within each object kind, by composite
/// descending and then object id ascending, so ties are broken the same way every time.
pub fn evaluate(scheme: &ValidScheme, tallies: &Tallies, inputs: &EvalInputs) -> Evaluation {
    let mut objects: BTreeSet<ObjectRef> = tallies.keys().cloned().collect();
    objects.extend(inputs.roster.iter().cloned());
    objects.extend(
        inputs
            .missed_reports
            .keys()
            .map(|&id| ObjectRef::person(ObjectKind::Inspector, id)),
    );
    let empty = Tally::default();
    let mut out: Vec<ObjectEvaluation> = objects
        .into_iter()
        .map(|object| {
            let tally = tallies.get(&object).unwrap_or(&empty);
            evaluate_one(scheme, object, tally, inputs)
        })
        .collect();
    // Rank within each kind.
    out.sort_by(|a, b| {
        a.object.kind.cmp(&b.object.kind).then_with(|| {
            let (x, y) = (a.composite, b.composite);
            match (x, y) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.object.id.cmp(&b.object.id))
        })
    });
    let mut rank = 0u32;
    let mut kind = None;
    for o in &mut out {
        if kind != Some(o.object.kind) {
            kind = Some(o.object.kind);
            rank = 0;
        }
        if o.composite.is_some() {
            rank += 1;
            o.rank = Some(rank);
        }
    }
    Evaluation { objects: out }
}

fn evaluate_one(
    scheme: &ValidScheme,
    object: ObjectRef,
    tally: &Tally,
    inputs: &EvalInputs,
) -> ObjectEvaluation {
    let kind = object.kind.scheme_kind();
    let mut notes = Vec::new();
    let mut figs = BTreeMap::new();
    for def in figures(kind) {
        let fig = match def.formula {
            Formula::External if def.id == "satisfaction_rate" => {
                inputs.satisfaction.get(&object).cloned()
            }
            Formula::External => {
                let given = object
                    .id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| inputs.missed_reports.get(&id));
                given.map(|g| {
                    Figure::rate(
                        g.numerator,
                        g.denominator,
                        g.cases_num.clone(),
                        g.cases_den.clone(),
                    )
                })
            }
            formula => figure_of(formula, tally),
        };
        if let Some(fig) = fig {
            figs.insert(def.id.to_owned(), fig);
        }
    }
    let mut scored = Vec::new();
    for (key, weight) in scheme.weights(kind) {
        let Some(def) = scores(kind).iter().find(|s| s.key == key) else {
            continue;
        };
        let fig = figs.get(def.figure);
        let value = fig.and_then(|f| f.value);
        let (input, score) = match def.scoring {
            Scoring::Rate => (value, value.map(|r| (r * 100.0).clamp(0.0, 100.0))),
            Scoring::LowerRate => (value, value.map(|r| ((1.0 - r) * 100.0).clamp(0.0, 100.0))),
            Scoring::Band(table) => (value, value.and_then(|v| scheme.band_score(table, v))),
            Scoring::RegionFiledBand => {
                let info = inputs.areas.get(&object).copied().or_else(|| {
                    (object.kind == ObjectKind::Grid).then(|| {
                        notes.push("no area info: taken as one class-1 grid".to_owned());
                        AreaInfo {
                            class: AreaClass::First,
                            grids: 1,
                        }
                    })
                });
                match (info, value) {
                    (Some(info), Some(v)) if info.grids > 0 => {
                        let per_grid = v / f64::from(info.grids);
                        let table = match info.class {
                            AreaClass::First => "region_class1_filed",
                            AreaClass::Second => "region_class2_filed",
                        };
                        (Some(per_grid), scheme.band_score(table, per_grid))
                    }
                    _ => {
                        notes.push(format!(
                            "{key}: no area class/grid count, so 立案数 per grid is unknown"
                        ));
                        (None, None)
                    }
                }
            }
            // Validation refuses a non-zero weight on these, so they never reach a composite.
            Scoring::NotDerivable(_) => (None, None),
        };
        scored.push(IndicatorScore {
            key: key.to_owned(),
            weight,
            input,
            score,
        });
    }
    let (sum, weights) = scored
        .iter()
        .filter(|s| s.weight > 0.0)
        .filter_map(|s| s.score.map(|v| (v * s.weight, s.weight)))
        .fold((0.0, 0.0), |(a, b), (x, w)| (a + x, b + w));
    let composite = (weights > 0.0).then(|| round6(sum / weights));
    let grade = composite.and_then(|c| scheme.grade(c).map(str::to_owned));
    ObjectEvaluation {
        object,
        figures: figs,
        scores: scored,
        composite,
        grade,
        rank: None,
        trend: None,
        notes,
    }
}

/// Fills `trend` of every object of `current` that also appears in `previous`.
pub fn attach_trend(current: &mut Evaluation, previous: &Evaluation) {
    let prev: BTreeMap<&ObjectRef, &ObjectEvaluation> =
        previous.objects.iter().map(|o| (&o.object, o)).collect();
    for o in &mut current.objects {
        let Some(p) = prev.get(&o.object) else {
            continue;
        };
        o.trend = Some(Trend {
            previous_composite: p.composite,
            previous_rank: p.rank,
            score_delta: o.composite.zip(p.composite).map(|(c, p)| round6(c - p)),
            rank_delta: o.rank.zip(p.rank).map(|(c, p)| i64::from(p) - i64::from(c)),
        });
    }
}
