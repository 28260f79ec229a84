//! cityloop monthly evaluation (综合评价): pure computation from case events to ranked scores.
//!
//! Pipeline: events → [`case_facts`] (per case) → [`credits`] (+1 on a counter of an object at an
//! instant) → counters per object over a period ([`tally_facts`] directly, or [`sum_rollups`] of
//! stored [`DayRollup`] rows) → [`evaluate`] (figures, scores, composite, grade, rank) →
//! [`attach_trend`]. No I/O and no clock: every instant comes from the events.
//!
//! # Period conventions
//!
//! Every counted item is credited at **one instant**, and a period `[from, to)` counts the credits
//! whose instant falls inside it. Rollups bucket the same instants by China-time day, so periods
//! of whole days give identical results either way. The instant is the event that completes the
//! counted act; flags of that act (on time, accurate, valid) are read from the whole log as of its
//! latest event:
//!
//! | Item | Instant | Object |
//! |---|---|---|
//! | 上报数 | Opened (inspector reports only) | reporting inspector |
//! | 有效上报数 / decided reports | the decision: File (valid) or Decline / Reject / Void / Merge before filing (invalid) | reporting inspector |
//! | 核实, 核查 tasks | Verify; CheckPass / CheckFail | inspector who did it |
//! | 受理 | Accept / Decline | acceptor |
//! | 立案 (on time, accurate) | File | shift leader |
//! | 结案 (on time) | Close | shift leader |
//! | 派遣 (on time, accurate) | Dispatch | dispatcher |
//! | department 立案数 | Dispatch (returned dispatches excluded) | lead department, sub-unit |
//! | 应处置数 = 应结案数 | the accepted feedback if within the limit, else the disposal deadline | lead department, sub-unit, areas |
//! | 延期数, 回退数, 督办数 | ApproveExtension, ApproveReturn, Supervise | lead department, sub-unit |
//! | area 立案数 (net of parked), 挂账数 | File | grid, community, street |
//! | 监督举报核实数 | Verify confirmed on a public / hotline / media report | grid, community, street |
//!
//! Consequences the app must know:
//! * Rates are computed over items credited in the period, so numerator ⊆ denominator and no rate
//!   exceeds 100 % (监督举报率 is a ratio of two counts and may).
//! * Accuracy flags stay on the day of the act they judge: a filing voided in April lowers the
//!   准确立案率 of the March day it was filed. [`rollup_delta`] updates that past day; published
//!   evaluations are snapshots.
//! * An open disposal is credited at its deadline even if that lies in the future, where it would
//!   count as overdue unless handled in time (the next transition moves it). Evaluate closed
//!   periods only (`to` ≤ today). Parked or deferred disposals are not counted until resumed.
//! * Steps without a configured limit are left out of on-time rates.
//!
//! # Differences from defaults.toml / domain-standards §8
//!
//! * 有效上报率 = 有效上报数 / **decided** reports (a report still pending is not yet valid or
//!   invalid); 上报数 is reported as a figure.
//! * 受理员 核实按时派发率 / 核查按时派发率 cannot be measured: cityloop assigns those tasks
//!   automatically. [`EvaluationScheme::validate`] rejects a non-zero weight on them; 按时受理率
//!   (against the Accept step limit) is offered instead.
//! * 漏报率 is an input ([`EvalInputs::missed_reports`]): the events do not say which grids an
//!   inspector covers.
//! * 准确立案 = filed and not voided afterwards (cityloop has no re-classification after filing).
//! * 准确派遣 = the department's return (回退) was not approved; a re-dispatch after a reopen is not
//!   a wrong dispatch.
//! * 返工率 = assignments with at least one failed check / 应结案数 (the repo's denominator).
//! * Region 立案数 band is scored on 立案数 per grid (area 立案数 / its grid count).

mod catalogue;
mod evaluate;
mod facts;
mod rollup;
mod scheme;

pub use catalogue::{
    BAND_TABLES, Counter, FigureDef, Formula, ObjectKind, ObjectRef, SchemeKind, ScoreDef, Scoring,
    figures, scores,
};
pub use evaluate::{
    AreaInfo, EvalInputs, Evaluation, Figure, IndicatorScore, ObjectEvaluation, Trend,
    attach_trend, evaluate,
};
pub use facts::{
    Accountable, CaseFacts, CaseMeta, DisposalFact, Exclusion, FactContext, Filing, ParkPeriod,
    ReportDecision, ReportOutcome, TimedStep, case_facts,
};
pub use rollup::{
    Counters, Credit, DayRollup, RollupDelta, RollupError, RollupKey, Tallies, Tally, apply_delta,
    credits, day_of, day_rollups, day_start, rollup_delta, sum_rollups, tally_facts,
};
pub use scheme::{
    Band, DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML, EvaluationScheme, GradeDef,
    RegionSection, SchemeError, SchemeProblem, Timers, ValidScheme, WeightsSection,
};

use chrono::{DateTime, Utc};

/// [`evaluate`] straight from facts over `[from, to)`, with drill-down case lists.
pub fn evaluate_facts<'a>(
    scheme: &ValidScheme,
    cases: impl IntoIterator<Item = (&'a CaseFacts, Option<&'a CaseMeta>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    inputs: &EvalInputs,
) -> Evaluation {
    evaluate(scheme, &tally_facts(cases, from, to), inputs)
}
