//! Evaluation (综合评价) computed from the case event log on request: every figure carries the
//! cases behind its numerator and denominator, so a department can see exactly what it is
//! measured on. The scheme is the national defaults with the city overlay shipped as the example
//! (the defaults' region weights do not sum to 100 % and are refused on their own).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::{Details, Event};
use cityloop_domain::{Action, Target};
use cityloop_eval::{
    CaseFacts, CaseMeta, Counters, EvalInputs, Evaluation, FactContext, ObjectKind, ObjectRef,
    RollupDelta, RollupKey, Tallies, ValidScheme, apply_delta, attach_trend, case_facts, day_start,
    evaluate, rollup_delta, tally_facts,
};
use cityloop_store::RollupRow;
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

pub mod objections;
pub mod report;
pub mod schemes;

pub use objections::ObjectionView;
pub use report::{ReportData, ReportRow, ReportSection};
pub use schemes::{SchemeInfo, SchemeView};

/// Longest period evaluated in one request.
const MAX_DAYS: i64 = 366;

/// A period's results.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationView {
    pub from: NaiveDate,
    /// Exclusive.
    pub to: NaiveDate,
    /// The period of the same length just before, which `trend` compares with.
    pub previous_from: NaiveDate,
    /// `rollups` (the day counters kept with every transition) or `events` (recomputed from the
    /// case log, with the case lists behind every figure: `explain=true`).
    pub source: &'static str,
    /// Cases read when computed from the events.
    pub cases_considered: Option<usize>,
    /// The evaluation scheme the period was scored under.
    pub scheme: SchemeInfo,
    /// Figures, scores, composite (综合指标值), grade and rank per object, by kind and rank.
    pub evaluation: Evaluation,
}

/// Counters of every object over `[from, to)` with as few rows as possible: per calendar month
/// touched, the month row when the period covers it whole; the month row minus the days not
/// covered when it covers most of it; else the covered day rows.
async fn tallies_between(
    tx: &mut dyn cityloop_store::Tx,
    from: NaiveDate,
    to: NaiveDate,
    kind: Option<&str>,
) -> AppResult<Tallies> {
    let ymd = |d: NaiveDate| d.format(DAY).to_string();
    let mut plus = Vec::new();
    let mut minus = Vec::new();
    let mut month = month_of(from);
    while month < to {
        let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
            break;
        };
        let (start, end) = (from.max(month), to.min(next));
        let covered = (end - start).num_days();
        let missing = (next - month).num_days() - covered;
        if missing == 0 || missing < covered {
            let m = month.format(MONTH).to_string();
            plus.push(tx.rollups_packed(true, &m, &format!("{m}~"), kind).await?);
            if month < start {
                minus.push(
                    tx.rollups_packed(false, &ymd(month), &ymd(start), kind)
                        .await?,
                );
            }
            if end < next {
                minus.push(
                    tx.rollups_packed(false, &ymd(end), &ymd(next), kind)
                        .await?,
                );
            }
        } else {
            plus.push(
                tx.rollups_packed(false, &ymd(start), &ymd(end), kind)
                    .await?,
            );
        }
        month = next;
    }
    // Summed per object over borrowed slices of the packed rows: one key per object.
    fn sum(packed: &[String]) -> HashMap<(&str, &str), Counters> {
        let mut sums: HashMap<(&str, &str), Counters> = HashMap::new();
        for row in packed
            .iter()
            .flat_map(|p| p.split('\u{1e}'))
            .filter(|r| !r.is_empty())
        {
            let mut fields = row.splitn(3, '\u{1f}');
            let (Some(kind), Some(id), Some(json)) = (fields.next(), fields.next(), fields.next())
            else {
                tracing::warn!("malformed rollup row skipped");
                continue;
            };
            match Counters::from_json(json) {
                Ok(c) => sums.entry((kind, id)).or_default().add_all(&c),
                Err(e) => tracing::warn!(kind, id, error = %e, "unreadable rollup row skipped"),
            }
        }
        sums
    }
    let mut sums = sum(&plus);
    for (key, counters) in sum(&minus) {
        if let Some(total) = sums.get_mut(&key) {
            total.sub_all(&counters);
        }
    }
    let mut out = Tallies::new();
    for ((kind, id), counts) in sums {
        if counts.is_zero() {
            continue;
        }
        if let Some(kind) = kind_of(kind) {
            out.entry(ObjectRef::new(kind, id)).or_default().counts = counts;
        }
    }
    Ok(out)
}

fn kind_of(code: &str) -> Option<ObjectKind> {
    ObjectKind::ALL.into_iter().find(|k| k.code() == code)
}

impl App {
    /// Evaluates `[from, to)` (China dates) for one object kind or all, with the trend against
    /// the previous period of the same length. `explain` keeps the case lists of every figure.
    pub async fn evaluate(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
        explain: bool,
        ctx: &Ctx,
    ) -> AppResult<Arc<EvaluationView>> {
        self.authorize(
            actor,
            Action::EvaluationRead,
            &Target::Collection,
            Obj::kind("evaluation"),
            ctx,
        )
        .await?;
        let kind = match kind {
            Some(k) => Some(kind_of(k).ok_or_else(|| {
                AppError::rejected(
                    "unknown_kind",
                    "kind",
                    format!(
                        "unknown kind {k}; one of inspector, acceptor, shift_leader, dispatcher, \
                         department, sub_unit, street, community, grid"
                    ),
                )
            })?),
            None => None,
        };
        let today = self.now().with_timezone(&CHINA_OFFSET).date_naive();
        if to <= from {
            return Err(AppError::rejected(
                "invalid_period",
                "to",
                "the period must end after it starts",
            ));
        }
        if from > today {
            return Err(AppError::rejected(
                "period_in_future",
                "from",
                "the period has not started yet",
            ));
        }
        if to > today + Duration::days(1) {
            return Err(AppError::rejected(
                "period_in_future",
                "to",
                "the period ends in the future; evaluate finished days only",
            ));
        }
        let days = (to - from).num_days();
        if days > MAX_DAYS {
            return Err(AppError::rejected(
                "period_too_long",
                "to",
                format!("at most {MAX_DAYS} days per evaluation"),
            ));
        }
        let previous_from = from - Duration::days(days);
        let active = self.scheme_for(from).await?;
        let scheme_info = active.info();
        let scheme = &active.valid;

        if !explain {
            // A period whose months all ended a while ago is answered from the cache while no
            // write changed those months (see `eval_rollup_revisions`).
            let cache_key = self
                .finished_period_key(previous_from, to, kind, &scheme_info)
                .await?;
            if let Some(key) = &cache_key
                && let Some(hit) = self.eval_cache.get(key)
            {
                return Ok(hit);
            }
            // The rollups answer without touching the cases.
            let kind_filter = kind.map(ObjectKind::code);
            let (previous, current, grids_previous, grids_current) = {
                let mut tx = self.store.read().await?;
                let previous =
                    tallies_between(tx.as_mut(), previous_from, from, kind_filter).await?;
                let current = tallies_between(tx.as_mut(), from, to, kind_filter).await?;
                // 漏报率 of inspectors is read off their grids.
                let (gp, gc) = if kind == Some(ObjectKind::Inspector) {
                    let g = Some(ObjectKind::Grid.code());
                    (
                        Some(tallies_between(tx.as_mut(), previous_from, from, g).await?),
                        Some(tallies_between(tx.as_mut(), from, to, g).await?),
                    )
                } else {
                    (None, None)
                };
                (previous, current, gp, gc)
            };
            let mut inputs_previous =
                self.eval_inputs(scheme, grids_previous.as_ref().unwrap_or(&previous));
            inputs_previous.satisfaction = self.satisfaction_inputs(previous_from, from).await?;
            let mut inputs = self.eval_inputs(scheme, grids_current.as_ref().unwrap_or(&current));
            inputs.satisfaction = self.satisfaction_inputs(from, to).await?;
            let previous = evaluate(scheme, &previous, &inputs_previous);
            let mut evaluation = evaluate(scheme, &current, &inputs);
            attach_trend(&mut evaluation, &previous);
            if let Some(k) = kind {
                evaluation.objects.retain(|o| o.object.kind == k);
            }
            let view = Arc::new(EvaluationView {
                from,
                to,
                previous_from,
                source: "rollups",
                cases_considered: None,
                scheme: scheme_info,
                evaluation,
            });
            if let Some(key) = cache_key {
                self.eval_cache.put(key, view.clone());
            }
            return Ok(view);
        }
        // Every case that can earn credit in either period, with its whole history.
        let cases = self
            .facts_between(day_start(previous_from), day_start(to))
            .await?;
        let pairs = || cases.iter().map(|(f, m)| (f, m.as_ref()));
        let previous = tally_facts(pairs(), day_start(previous_from), day_start(from));
        let current = tally_facts(pairs(), day_start(from), day_start(to));
        let mut inputs_previous = self.eval_inputs(scheme, &previous);
        inputs_previous.satisfaction = self.satisfaction_inputs(previous_from, from).await?;
        let mut inputs = self.eval_inputs(scheme, &current);
        inputs.satisfaction = self.satisfaction_inputs(from, to).await?;
        let previous = evaluate(scheme, &previous, &inputs_previous);
        let mut evaluation = evaluate(scheme, &current, &inputs);
        attach_trend(&mut evaluation, &previous);
        if let Some(k) = kind {
            evaluation.objects.retain(|o| o.object.kind == k);
        }
        Ok(Arc::new(EvaluationView {
            from,
            to,
            previous_from,
            source: "events",
            cases_considered: Some(cases.len()),
            scheme: scheme_info,
            evaluation,
        }))
    }
}

impl App {
    /// What the events cannot tell, from the base data and the scheme: each area's class and grid
    /// count (for the per-grid 立案数 bands), and each inspector's 漏报率 — problems in the grids of
    /// their responsibility grids confirmed from public, hotline or media reports (监督举报核实数),
    /// over the cases filed there (立案数 incl. parked), read off the grid tallies of the period.
    /// 满意率 of departments and areas over `[from, to)` (by the day the reporter answered).
    async fn satisfaction_inputs(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<BTreeMap<ObjectRef, cityloop_eval::Figure>> {
        use cityloop_store::SatisfactionBy as By;
        let mut out = BTreeMap::new();
        let mut tx = self.store.read().await?;
        for (by, kind) in [
            (By::Department, ObjectKind::Department),
            (By::Street, ObjectKind::Street),
            (By::Community, ObjectKind::Community),
            (By::Grid, ObjectKind::Grid),
        ] {
            for c in tx
                .satisfaction_counts(day_start(from), day_start(to), by)
                .await?
            {
                if c.key.is_empty() {
                    continue;
                }
                out.insert(
                    ObjectRef::new(kind, c.key),
                    cityloop_eval::Figure::rate(
                        u64::try_from(c.satisfied).unwrap_or(0),
                        u64::try_from(c.rated).unwrap_or(0),
                        Vec::new(),
                        Vec::new(),
                    ),
                );
            }
        }
        Ok(out)
    }

    fn eval_inputs(&self, scheme: &ValidScheme, grid_tallies: &Tallies) -> EvalInputs {
        use cityloop_eval::{AreaInfo, Counter, Figure};
        let spatial = self.spatial();
        let plan = scheme.scheme();
        let mut inputs = EvalInputs::default();
        let mut counts: HashMap<(ObjectKind, &str), u32> = HashMap::new();
        let streets: HashMap<&str, String> = spatial
            .grids
            .iter()
            .map(|g| g.community_code.as_str())
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .filter_map(|c| {
                let street = cityloop_domain::AreaCode::parse(c).ok()?.parent()?;
                Some((c, street.as_str().to_owned()))
            })
            .collect();
        for g in &spatial.grids {
            *counts
                .entry((ObjectKind::Community, g.community_code.as_str()))
                .or_default() += 1;
            if let Some(street) = streets.get(g.community_code.as_str()) {
                *counts
                    .entry((ObjectKind::Street, street.as_str()))
                    .or_default() += 1;
            }
            inputs.areas.insert(
                ObjectRef::new(ObjectKind::Grid, g.code.clone()),
                AreaInfo {
                    class: plan.area_class(&g.code),
                    grids: 1,
                },
            );
        }
        for ((kind, code), grids) in counts {
            inputs.areas.insert(
                ObjectRef::new(kind, code),
                AreaInfo {
                    class: plan.area_class(code),
                    grids,
                },
            );
        }
        let mut grids_of: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (grid, responsibility) in &spatial.responsibility {
            for r in responsibility {
                if let Some((_, inspectors)) = spatial.responsibility_info.get(r) {
                    for &i in inspectors {
                        grids_of.entry(i).or_default().push(grid.as_str());
                    }
                }
            }
        }
        for (inspector, mut grids) in grids_of {
            grids.sort_unstable();
            grids.dedup();
            let (mut missed, mut filed) = (0u64, 0u64);
            let (mut cases_num, mut cases_den) = (Vec::new(), Vec::new());
            for grid in grids {
                let Some(t) = grid_tallies.get(&ObjectRef::new(ObjectKind::Grid, grid)) else {
                    continue;
                };
                missed += t.counts.get(Counter::AreaPublicVerified);
                filed += t.counts.get(Counter::AreaFiledNet) + t.counts.get(Counter::AreaParked);
                if let Some(lists) = &t.cases {
                    let list = |c| lists.get(&c).into_iter().flatten().cloned();
                    cases_num.extend(list(Counter::AreaPublicVerified));
                    cases_den.extend(list(Counter::AreaFiledNet).chain(list(Counter::AreaParked)));
                }
            }
            inputs
                .missed_reports
                .insert(inspector, Figure::rate(missed, filed, cases_num, cases_den));
        }
        inputs
    }
}

/// League tables of finished periods, reused while their months' revisions stay the same.
#[derive(Default)]
pub(crate) struct EvalCache {
    entries: std::sync::Mutex<std::collections::VecDeque<(String, Arc<EvaluationView>)>>,
}

/// Entries kept: a few periods of each kind is what league-table pages ask for.
const EVAL_CACHE_ENTRIES: usize = 32;

impl EvalCache {
    fn get(&self, key: &str) -> Option<Arc<EvaluationView>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, view: Arc<EvaluationView>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= EVAL_CACHE_ENTRIES {
            entries.pop_front();
        }
        entries.push_back((key, view));
    }
}

/// Writes in the current month do not bump revisions, so a month is cached only once it ended
/// longer ago than any transaction that still saw it as current can take.
const FINISHED_MARGIN_MINUTES: i64 = 10;

impl App {
    /// The cache key of `[from, to)` if every month it touches is finished: the period, the
    /// kind, the scheme, the base data revision and each month's rollup revision.
    async fn finished_period_key(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        kind: Option<ObjectKind>,
        scheme: &SchemeInfo,
    ) -> AppResult<Option<String>> {
        let last_month = month_of(to.pred_opt().unwrap_or(to));
        let Some(after) = last_month.checked_add_months(chrono::Months::new(1)) else {
            return Ok(None);
        };
        if self.now() < day_start(after) + Duration::minutes(FINISHED_MARGIN_MINUTES) {
            return Ok(None);
        }
        let revisions = {
            let mut tx = self.store.read().await?;
            tx.rollup_revisions(
                &month_of(from).format(MONTH).to_string(),
                &after.format(MONTH).to_string(),
            )
            .await?
        };
        let spatial = self.spatial_revision_stamp();
        Ok(Some(format!(
            "{from}|{to}|{}|v{}:{}|{spatial}|{revisions:?}",
            kind.map_or("*", ObjectKind::code),
            scheme.version,
            scheme.content_hash
        )))
    }
}

// ---------- day rollups, maintained with every case transition ----------

pub(crate) fn meta_of(intake: &cityloop_store::CaseIntake) -> Option<CaseMeta> {
    area_meta(
        &intake.grid_code,
        &intake.community_code,
        &intake.street_code,
    )
}

fn area_meta(
    grid: &Option<String>,
    community: &Option<String>,
    street: &Option<String>,
) -> Option<CaseMeta> {
    match (grid, community, street) {
        (Some(g), Some(c), Some(s)) => Some(CaseMeta {
            grid: g.clone(),
            community: c.clone(),
            street: s.clone(),
        }),
        _ => None,
    }
}

/// Day rows are keyed `YYYY-MM-DD`, month rows `YYYY-MM` (their key's day is the 1st).
const DAY: &str = "%Y-%m-%d";
const MONTH: &str = "%Y-%m";

fn key_in(k: &RollupKey, format: &str) -> (String, String, String) {
    (
        k.day.format(format).to_string(),
        k.object.kind.code().to_owned(),
        k.object.id.clone(),
    )
}

fn row_in(k: &RollupKey, counters: &Counters, format: &str) -> RollupRow {
    let (day, object_kind, object_id) = key_in(k, format);
    RollupRow {
        day,
        object_kind,
        object_id,
        counters: serde_json::to_string(counters).unwrap_or_else(|_| "{}".to_owned()),
    }
}

fn key_tuple(k: &RollupKey) -> (String, String, String) {
    key_in(k, DAY)
}

fn row_of(k: &RollupKey, counters: &Counters) -> RollupRow {
    row_in(k, counters, DAY)
}

fn month_key_tuple(k: &RollupKey) -> (String, String, String) {
    key_in(k, MONTH)
}

fn month_row_of(k: &RollupKey, counters: &Counters) -> RollupRow {
    row_in(k, counters, MONTH)
}

/// Month key of a day: its first day.
fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Month sums of day rows.
fn month_sums<'a>(
    days: impl IntoIterator<Item = (&'a RollupKey, &'a Counters)>,
) -> BTreeMap<RollupKey, Counters> {
    let mut out: BTreeMap<RollupKey, Counters> = BTreeMap::new();
    for (k, c) in days {
        out.entry(RollupKey {
            day: month_of(k.day),
            object: k.object.clone(),
        })
        .or_default()
        .add_all(c);
    }
    out
}

/// Stores freshly built day rollups and their month sums (demo load, rebuild from the log).
pub(crate) async fn store_fresh_rollups(
    tx: &mut dyn cityloop_store::Tx,
    rollups: &[cityloop_eval::DayRollup],
) -> AppResult<()> {
    let days: Vec<RollupRow> = rollups
        .iter()
        .map(|r| row_of(&r.key, &r.counters))
        .collect();
    tx.put_rollups(&days).await?;
    let months = month_sums(rollups.iter().map(|r| (&r.key, &r.counters)));
    let rows: Vec<RollupRow> = months.iter().map(|(k, c)| month_row_of(k, c)).collect();
    tx.put_month_rollups(&rows).await?;
    let touched: Vec<String> = rows.iter().map(|r| r.day.clone()).collect();
    tx.bump_rollup_revisions(&touched, &new_revision()).await?;
    Ok(())
}

fn parse_row(r: &RollupRow) -> Option<(RollupKey, Counters)> {
    let day = if r.day.len() == 7 {
        NaiveDate::parse_from_str(&format!("{}-01", r.day), "%Y-%m-%d").ok()?
    } else {
        NaiveDate::parse_from_str(&r.day, "%Y-%m-%d").ok()?
    };
    let kind = kind_of(&r.object_kind)?;
    let counters: Counters = serde_json::from_str(&r.counters).ok()?;
    Some((
        RollupKey {
            day,
            object: ObjectRef::new(kind, r.object_id.clone()),
        },
        counters,
    ))
}

/// Applies rollup deltas inside the caller's transaction. A delta that would drive a counter
/// below zero means the stored rollups drifted from the events (they can be rebuilt from the
/// log); the case action itself must not fail for it, so the delta is skipped and logged.
pub(crate) async fn apply_rollup_deltas(
    tx: &mut dyn cityloop_store::Tx,
    deltas: &[RollupDelta],
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<(String, String, String)> =
        deltas.iter().map(|d| key_tuple(&d.key)).collect();
    keys.sort();
    keys.dedup();
    let mut rows: BTreeMap<RollupKey, Counters> = tx
        .get_rollups(&keys)
        .await?
        .iter()
        .filter_map(parse_row)
        .collect();
    let mut touched = std::collections::BTreeSet::new();
    for d in deltas {
        match apply_delta(&mut rows, d) {
            Ok(()) => {
                touched.insert(d.key.clone());
            }
            Err(e) => {
                tracing::error!(error = %e, "evaluation rollups drifted from the case events")
            }
        }
    }
    let out: Vec<RollupRow> = touched
        .iter()
        .map(|k| match rows.get(k) {
            Some(c) => row_of(k, c),
            None => row_of(k, &Counters::default()),
        })
        .collect();
    tx.put_rollups(&out).await?;

    // The same changes summed per month, for the month rows.
    let mut month_deltas: BTreeMap<RollupKey, BTreeMap<cityloop_eval::Counter, i64>> =
        BTreeMap::new();
    for d in deltas.iter().filter(|d| touched.contains(&d.key)) {
        let slot = month_deltas
            .entry(RollupKey {
                day: month_of(d.key.day),
                object: d.key.object.clone(),
            })
            .or_default();
        for &(c, v) in &d.changes {
            *slot.entry(c).or_default() += v;
        }
    }
    let month_deltas: Vec<RollupDelta> = month_deltas
        .into_iter()
        .map(|(key, changes)| RollupDelta {
            key,
            changes: changes.into_iter().filter(|&(_, v)| v != 0).collect(),
        })
        .filter(|d| !d.changes.is_empty())
        .collect();
    if month_deltas.is_empty() {
        return Ok(());
    }
    let keys: Vec<(String, String, String)> = month_deltas
        .iter()
        .map(|d| month_key_tuple(&d.key))
        .collect();
    let mut months: BTreeMap<RollupKey, Counters> = tx
        .get_month_rollups(&keys)
        .await?
        .iter()
        .filter_map(parse_row)
        .collect();
    let mut rows = Vec::new();
    for d in &month_deltas {
        match apply_delta(&mut months, d) {
            Ok(()) => rows.push(month_row_of(
                &d.key,
                &months.get(&d.key).cloned().unwrap_or_default(),
            )),
            Err(e) => {
                tracing::error!(error = %e, "evaluation month rollups drifted from the day rows")
            }
        }
    }
    tx.put_month_rollups(&rows).await?;
    // Finished (and future) months tell cached league tables that they changed.
    let current = month_of(cityloop_eval::day_of(now));
    let mut touched: Vec<String> = month_deltas
        .iter()
        .map(|d| d.key.day)
        .filter(|&m| m != current)
        .map(|m| m.format(MONTH).to_string())
        .collect();
    touched.dedup();
    if !touched.is_empty() {
        tx.bump_rollup_revisions(&touched, &new_revision()).await?;
    }
    Ok(())
}

/// A revision value never used before (cached tables compare it for equality only); random,
/// since a test clock may stand still.
fn new_revision() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl App {
    /// Facts of every case that can earn credit in `[from, to)`, from its whole event log.
    async fn facts_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<Vec<(CaseFacts, Option<CaseMeta>)>> {
        let (refs, events, accepted) = {
            let mut tx = self.store.read().await?;
            let refs = tx.evaluation_cases(from, to).await?;
            let ids: Vec<String> = refs.iter().map(|r| r.id.clone()).collect();
            let events = tx.events_of_cases(&ids).await?;
            let accepted = tx
                .list_objections(&cityloop_store::ObjectionQuery {
                    status: Some("accepted".into()),
                    ..Default::default()
                })
                .await?;
            (refs, events, accepted)
        };
        let mut accepted_by_case: HashMap<&str, Vec<cityloop_store::ObjectionRecord>> =
            HashMap::new();
        for o in &accepted {
            accepted_by_case
                .entry(o.case_id.as_str())
                .or_default()
                .push(o.clone());
        }
        let rule_sets = self.rule_sets_of(&events).await?;
        let mut by_case: HashMap<String, Vec<Event>> = HashMap::new();
        for e in events {
            by_case.entry(e.case_id.clone()).or_default().push(e);
        }
        let process = self.process_limits(self.now()).await?;
        let calendar = self.calendar();
        let fctx = FactContext::new(&calendar, &rule_sets, &process);
        Ok(refs
            .iter()
            .filter_map(|r| {
                let events = by_case.get(&r.id)?;
                let mut facts = case_facts(events, &fctx);
                if let Some(objections) = accepted_by_case.get(r.id.as_str()) {
                    facts.excluded = objections::exclusions(objections);
                }
                Some((
                    facts,
                    area_meta(&r.grid_code, &r.community_code, &r.street_code),
                ))
            })
            .collect())
    }

    /// Rule sets the events refer to, for fact computation.
    pub(crate) async fn rule_sets_of(
        &self,
        events: &[Event],
    ) -> AppResult<BTreeMap<i64, cityloop_domain::rules::RuleSetContent>> {
        let mut out = BTreeMap::new();
        for e in events {
            if let Details::Filed { rule_set_id, .. } = &e.details
                && !out.contains_key(rule_set_id)
            {
                out.insert(
                    *rule_set_id,
                    (*self.rule_set_content(*rule_set_id).await?).clone(),
                );
            }
        }
        Ok(out)
    }

    /// What one transition changes in the rollups: facts of the log before and after it.
    pub(crate) async fn rollup_deltas_for(
        &self,
        before: &[Event],
        event: &Event,
        meta: Option<&CaseMeta>,
        excluded: Vec<cityloop_eval::Exclusion>,
    ) -> AppResult<Vec<RollupDelta>> {
        let mut after: Vec<Event> = before.to_vec();
        after.push(event.clone());
        let rule_sets = self.rule_sets_of(&after).await?;
        let process = self.process_limits(event.at).await?;
        let calendar = self.calendar();
        let fctx = FactContext::new(&calendar, &rule_sets, &process);
        let mut after_facts = case_facts(&after, &fctx);
        after_facts.excluded = excluded.clone();
        if before.is_empty() {
            return Ok(rollup_delta(None, (&after_facts, meta)));
        }
        let mut before_facts = case_facts(before, &fctx);
        before_facts.excluded = excluded;
        Ok(rollup_delta(
            Some((&before_facts, meta)),
            (&after_facts, meta),
        ))
    }
}

const META_ROLLUPS: &str = "evaluation.rollups";
const META_MONTH_ROLLUPS: &str = "evaluation.rollups_month";

impl App {
    /// Builds the day rollups from the whole event log once (a database that had cases before
    /// rollups existed, or whose `evaluation.rollups` mark was set to anything but `1` to ask
    /// for a rebuild); afterwards every transition keeps them current.
    pub(crate) async fn ensure_rollups(&self) -> AppResult<()> {
        {
            let mut tx = self.store.read().await?;
            if tx.get_meta(META_ROLLUPS).await?.as_deref() == Some("1") {
                let months_done = tx.get_meta(META_MONTH_ROLLUPS).await?.as_deref() == Some("1");
                drop(tx);
                if !months_done {
                    self.build_month_rollups().await?;
                }
                return Ok(());
            }
        }
        let now = self.now();
        // Four-digit years: SQLite compares instants as text.
        let facts = self
            .facts_between(
                day_start(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()),
                day_start(NaiveDate::from_ymd_opt(9999, 1, 1).unwrap_or_default()),
            )
            .await?;
        let rows = cityloop_eval::day_rollups(facts.iter().map(|(f, m)| (f, m.as_ref())));
        let mut tx = self.store.write().await?;
        // Another instance may have built them meanwhile.
        if tx.get_meta(META_ROLLUPS).await?.as_deref() != Some("1") {
            // Rows of the old build that the new one lacks must go.
            let stale_days: Vec<RollupRow> = tx
                .rollups_between("0000-01-01", "9999-12-31", None)
                .await?
                .into_iter()
                .map(|r| RollupRow {
                    counters: "{}".into(),
                    ..r
                })
                .collect();
            tx.put_rollups(&stale_days).await?;
            let stale_months: Vec<RollupRow> = tx
                .month_rollups_between("0000-01", "9999-12", None)
                .await?
                .into_iter()
                .map(|r| RollupRow {
                    counters: "{}".into(),
                    ..r
                })
                .collect();
            tx.put_month_rollups(&stale_months).await?;
            let stale: Vec<String> = stale_months.iter().map(|r| r.day.clone()).collect();
            tx.bump_rollup_revisions(&stale, &new_revision()).await?;
            store_fresh_rollups(tx.as_mut(), &rows).await?;
            tx.set_meta(META_ROLLUPS, "1", now).await?;
            tx.set_meta(META_MONTH_ROLLUPS, "1", now).await?;
        }
        tx.commit().await?;
        if !facts.is_empty() {
            tracing::info!(
                cases = facts.len(),
                rows = rows.len(),
                "evaluation rollups built from the case log"
            );
        }
        Ok(())
    }
}

impl App {
    /// Fills the month rows from the day rows once (a database whose day rollups predate them).
    async fn build_month_rollups(&self) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        if tx.get_meta(META_MONTH_ROLLUPS).await?.as_deref() == Some("1") {
            return Ok(());
        }
        let days: BTreeMap<RollupKey, Counters> = tx
            .rollups_between("0000-01-01", "9999-12-31", None)
            .await?
            .iter()
            .filter_map(parse_row)
            .collect();
        let rows: Vec<RollupRow> = month_sums(days.iter())
            .iter()
            .map(|(k, c)| month_row_of(k, c))
            .collect();
        tx.put_month_rollups(&rows).await?;
        let touched: Vec<String> = rows.iter().map(|r| r.day.clone()).collect();
        tx.bump_rollup_revisions(&touched, &new_revision()).await?;
        tx.set_meta(META_MONTH_ROLLUPS, "1", now).await?;
        tx.commit().await?;
        tracing::info!(
            rows = rows.len(),
            "evaluation month rollups built from the day rows"
        );
        Ok(())
    }
}

// ---------- exports ----------

fn kind_zh(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Inspector => "监督员",
        ObjectKind::Acceptor => "受理员",
        ObjectKind::ShiftLeader => "值班长",
        ObjectKind::Dispatcher => "派遣员",
        ObjectKind::Department => "专业部门",
        ObjectKind::SubUnit => "二级单位",
        ObjectKind::Street => "街道",
        ObjectKind::Community => "社区",
        ObjectKind::Grid => "单元网格",
    }
}

impl App {
    /// Display names of evaluated objects: people, departments, areas (grids keep their code).
    pub(crate) async fn object_names(&self) -> AppResult<HashMap<(ObjectKind, String), String>> {
        let (users, departments) = {
            let mut tx = self.store.read().await?;
            (
                tx.list_users(&cityloop_store::UserQuery::default()).await?,
                tx.list_departments().await?,
            )
        };
        let spatial = self.spatial();
        let mut out = HashMap::new();
        for u in users {
            for k in [
                ObjectKind::Inspector,
                ObjectKind::Acceptor,
                ObjectKind::ShiftLeader,
                ObjectKind::Dispatcher,
            ] {
                out.insert((k, u.id.to_string()), u.display_name.clone());
            }
        }
        for d in departments {
            out.insert((ObjectKind::Department, d.code.clone()), d.name.clone());
            out.insert((ObjectKind::SubUnit, d.code.clone()), d.name.clone());
        }
        for (code, name) in &spatial.area_names {
            out.insert((ObjectKind::Street, code.clone()), name.clone());
            out.insert((ObjectKind::Community, code.clone()), name.clone());
        }
        Ok(out)
    }

    /// Display names of evaluated objects by kind code and id, for pages that show league tables
    /// (the evaluation carries ids only). Same permission as the evaluation itself.
    pub async fn evaluation_object_names(
        &self,
        actor: &Actor,
        ctx: &Ctx,
    ) -> AppResult<BTreeMap<&'static str, BTreeMap<String, String>>> {
        self.authorize(
            actor,
            Action::EvaluationRead,
            &Target::Collection,
            Obj::kind("evaluation"),
            ctx,
        )
        .await?;
        let mut out: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
        for ((kind, id), name) in self.object_names().await? {
            out.entry(kind.code()).or_default().insert(id, name);
        }
        Ok(out)
    }

    /// The league tables of `[from, to)` as an XLSX workbook (one formatted sheet per object
    /// kind, ranked) or a CSV in long form (one row per object and figure, UTF-8 with BOM).
    pub async fn export_evaluation(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        xlsx: bool,
        ctx: &Ctx,
    ) -> AppResult<Vec<u8>> {
        let view = self.evaluate(actor, None, from, to, false, ctx).await?;
        let names = self.object_names().await?;
        let name_of = |k: ObjectKind, id: &str| {
            names
                .get(&(k, id.to_owned()))
                .cloned()
                .unwrap_or_else(|| id.to_owned())
        };
        if !xlsx {
            let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
            let fail = |e: csv::Error| AppError::Internal(format!("csv export: {e}"));
            w.write_record([
                "对象类型",
                "对象编码",
                "对象名称",
                "排名",
                "综合指标值",
                "等级",
                "指标",
                "指标名称",
                "值",
                "分子",
                "分母",
            ])
            .map_err(fail)?;
            for o in &view.evaluation.objects {
                let defs = cityloop_eval::figures(o.object.kind.scheme_kind());
                for d in defs {
                    let Some(f) = o.figures.get(d.id) else {
                        continue;
                    };
                    w.write_record([
                        kind_zh(o.object.kind).to_owned(),
                        o.object.id.clone(),
                        name_of(o.object.kind, &o.object.id),
                        o.rank.map(|r| r.to_string()).unwrap_or_default(),
                        o.composite.map(|c| format!("{c:.2}")).unwrap_or_default(),
                        o.grade.clone().unwrap_or_default(),
                        d.id.to_owned(),
                        d.name_zh.to_owned(),
                        f.value.map(|v| format!("{v:.4}")).unwrap_or_default(),
                        f.numerator.to_string(),
                        f.denominator.to_string(),
                    ])
                    .map_err(fail)?;
                }
            }
            return w
                .into_inner()
                .map_err(|e| AppError::Internal(format!("csv export: {e}")));
        }
        use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook};
        let fail = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx export: {e}"));
        let mut book = Workbook::new();
        let title = Format::new().set_bold().set_font_size(14);
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDDEBF7))
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_text_wrap();
        let cell = Format::new().set_border(FormatBorder::Thin);
        let number = Format::new()
            .set_border(FormatBorder::Thin)
            .set_num_format("0.00");
        let percent = Format::new()
            .set_border(FormatBorder::Thin)
            .set_num_format("0.0%");
        let integer = Format::new()
            .set_border(FormatBorder::Thin)
            .set_num_format("0");
        for kind in ObjectKind::ALL {
            let objects: Vec<_> = view
                .evaluation
                .objects
                .iter()
                .filter(|o| o.object.kind == kind)
                .collect();
            if objects.is_empty() {
                continue;
            }
            let defs = cityloop_eval::figures(kind.scheme_kind());
            let ws = book.add_worksheet();
            ws.set_name(kind_zh(kind)).map_err(fail)?;
            ws.write_string_with_format(
                0,
                0,
                format!(
                    "{}综合评价 {} 至 {}（不含）",
                    kind_zh(kind),
                    view.from,
                    view.to
                ),
                &title,
            )
            .map_err(fail)?;
            let fixed = ["排名", "编码", "名称", "综合指标值", "等级", "较上期名次"];
            for (c, h) in fixed.iter().enumerate() {
                ws.write_string_with_format(2, c as u16, *h, &header)
                    .map_err(fail)?;
            }
            for (i, d) in defs.iter().enumerate() {
                ws.write_string_with_format(2, (fixed.len() + i) as u16, d.name_zh, &header)
                    .map_err(fail)?;
            }
            ws.set_column_width(1, 16.0).map_err(fail)?;
            ws.set_column_width(2, 20.0).map_err(fail)?;
            for (r, o) in objects.iter().enumerate() {
                let row = (r + 3) as u32;
                match o.rank {
                    Some(rank) => ws.write_number_with_format(row, 0, f64::from(rank), &integer),
                    None => ws.write_string_with_format(row, 0, "—", &cell),
                }
                .map_err(fail)?;
                ws.write_string_with_format(row, 1, &o.object.id, &cell)
                    .map_err(fail)?;
                ws.write_string_with_format(row, 2, name_of(kind, &o.object.id), &cell)
                    .map_err(fail)?;
                match o.composite {
                    Some(c) => ws.write_number_with_format(row, 3, c, &number),
                    None => ws.write_string_with_format(row, 3, "—", &cell),
                }
                .map_err(fail)?;
                ws.write_string_with_format(row, 4, o.grade.clone().unwrap_or_default(), &cell)
                    .map_err(fail)?;
                match o.trend.as_ref().and_then(|t| t.rank_delta) {
                    Some(d) => ws.write_number_with_format(row, 5, d as f64, &integer),
                    None => ws.write_string_with_format(row, 5, "—", &cell),
                }
                .map_err(fail)?;
                for (i, d) in defs.iter().enumerate() {
                    let col = (fixed.len() + i) as u16;
                    let f = o.figures.get(d.id);
                    let is_rate = f.is_some_and(|f| f.denominator > 0)
                        || matches!(d.formula, cityloop_eval::Formula::Rate { .. });
                    match f.and_then(|f| f.value) {
                        Some(v) if is_rate => ws.write_number_with_format(row, col, v, &percent),
                        Some(v) => ws.write_number_with_format(row, col, v, &integer),
                        None => ws.write_string_with_format(row, col, "—", &cell),
                    }
                    .map_err(fail)?;
                }
            }
            ws.set_freeze_panes(3, 3).map_err(fail)?;
            ws.autofilter(
                2,
                0,
                (objects.len() + 2) as u32,
                (fixed.len() + defs.len() - 1) as u16,
            )
            .map_err(fail)?;
        }
        if book.worksheets().is_empty() {
            let ws = book.add_worksheet();
            ws.set_name("说明").map_err(fail)?;
            ws.write_string(0, 0, "本期无评价数据").map_err(fail)?;
        }
        book.save_to_buffer().map_err(fail)
    }
}

// ---------- publishing ----------

impl App {
    /// Freezes the results of a finished period: stored once, never changed, stamped with the
    /// scheme and the rule sets in force; later data changes do not alter them.
    pub async fn publish_evaluation(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        note: &str,
        ctx: &Ctx,
    ) -> AppResult<cityloop_store::PublicationRecord> {
        self.authorize(
            actor,
            Action::EvaluationPublish,
            &Target::Collection,
            Obj::kind("evaluation"),
            ctx,
        )
        .await?;
        let today = self.now().with_timezone(&CHINA_OFFSET).date_naive();
        if to > today {
            return Err(AppError::rejected(
                "period_not_finished",
                "to",
                "only finished periods are published (to must not be after today)",
            ));
        }
        let view = self.evaluate(actor, None, from, to, false, ctx).await?;
        let sets = {
            let mut tx = self.store.read().await?;
            tx.list_rule_sets().await?
        };
        let mut rule_sets: Vec<i64> = sets
            .iter()
            .filter(|r| r.status == "published")
            .filter(|r| r.effective_from.is_some_and(|d| d >= from && d < to))
            .map(|r| r.id)
            .collect();
        if let Some(r) = crate::standards::in_force(&sets, day_start(from)) {
            rule_sets.push(r.id);
        }
        rule_sets.sort_unstable();
        rule_sets.dedup();
        let mut record = cityloop_store::PublicationRecord {
            id: 0,
            period_from: from.format("%Y-%m-%d").to_string(),
            period_to: to.format("%Y-%m-%d").to_string(),
            scheme: view.scheme.stamp(),
            rule_sets: serde_json::to_string(&rule_sets).unwrap_or_else(|_| "[]".into()),
            results: Some(
                serde_json::to_string(&*view)
                    .map_err(|e| AppError::Internal(format!("publication: {e}")))?,
            ),
            note: note.trim().to_owned(),
            published_by: actor.id(),
            published_at: self.now(),
        };
        let mut tx = self.store.write().await?;
        record.id = tx.insert_publication(&record).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation.publish",
            Obj::new("evaluation_publication", record.id),
            "ok",
            ctx,
            serde_json::json!({"from": record.period_from, "to": record.period_to, "scheme": record.scheme}),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn list_publications(
        &self,
        actor: &Actor,
        ctx: &Ctx,
    ) -> AppResult<Vec<cityloop_store::PublicationRecord>> {
        self.authorize(
            actor,
            Action::EvaluationRead,
            &Target::Collection,
            Obj::kind("evaluation_publication"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_publications().await?)
    }

    pub async fn get_publication(
        &self,
        actor: &Actor,
        id: i64,
        ctx: &Ctx,
    ) -> AppResult<cityloop_store::PublicationRecord> {
        self.authorize(
            actor,
            Action::EvaluationRead,
            &Target::Collection,
            Obj::new("evaluation_publication", id),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        tx.get_publication(id)
            .await?
            .ok_or(AppError::NotFound("publication"))
    }
}
