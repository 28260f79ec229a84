//! Evaluation (综合评价) computed from the case event log on request: every figure carries the
//! cases behind its numerator and denominator, so a department can see exactly what it is
//! measured on. The scheme is the national defaults with the city overlay shipped as the example
//! (the defaults' region weights do not sum to 100 % and are refused on their own).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::{Details, Event};
use cityloop_domain::{Action, Target};
use cityloop_eval::{
    CaseFacts, CaseMeta, DEFAULT_SCHEME_TOML, EXAMPLE_CITY_OVERLAY_TOML, EvalInputs, Evaluation,
    EvaluationScheme, FactContext, ObjectKind, attach_trend, case_facts, day_start, evaluate_facts,
};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

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
    pub cases_considered: usize,
    /// Figures, scores, composite (综合指标值), grade and rank per object, by kind and rank.
    pub evaluation: Evaluation,
}

fn kind_of(code: &str) -> Option<ObjectKind> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
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
    ) -> AppResult<EvaluationView> {
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
        let scheme = EvaluationScheme::from_toml_with_overlay(
            DEFAULT_SCHEME_TOML,
            EXAMPLE_CITY_OVERLAY_TOML,
        )
        .map_err(|e| AppError::Internal(format!("evaluation scheme: {e}")))?
        .validated()
        .map_err(|p| AppError::Internal(format!("evaluation scheme: {p:?}")))?;

        // Every case that can earn credit in either period, with its whole history.
        let (refs, events) = {
            let mut tx = self.store.read().await?;
            let refs = tx
                .evaluation_cases(day_start(previous_from), day_start(to))
                .await?;
            let ids: Vec<String> = refs.iter().map(|r| r.id.clone()).collect();
            let events = tx.events_of_cases(&ids).await?;
            (refs, events)
        };
        let mut by_case: HashMap<String, Vec<Event>> = HashMap::new();
        let mut rule_set_ids = std::collections::BTreeSet::new();
        for e in events {
            if let Details::Filed { rule_set_id, .. } = &e.details {
                rule_set_ids.insert(*rule_set_id);
            }
            by_case.entry(e.case_id.clone()).or_default().push(e);
        }
        let mut rule_sets = BTreeMap::new();
        for id in rule_set_ids {
            rule_sets.insert(id, (*self.rule_set_content(id).await?).clone());
        }
        let process = self.process_limits(self.now()).await?;
        let calendar = self.calendar();
        let fctx = FactContext::new(&calendar, &rule_sets, &process);
        let cases: Vec<(CaseFacts, Option<CaseMeta>)> = refs
            .iter()
            .filter_map(|r| {
                let events = by_case.get(&r.id)?;
                let meta = match (&r.grid_code, &r.community_code, &r.street_code) {
                    (Some(g), Some(c), Some(s)) => Some(CaseMeta {
                        grid: g.clone(),
                        community: c.clone(),
                        street: s.clone(),
                    }),
                    _ => None,
                };
                Some((case_facts(events, &fctx), meta))
            })
            .collect();
        let inputs = EvalInputs::default();
        let pairs = || cases.iter().map(|(f, m)| (f, m.as_ref()));
        let previous = evaluate_facts(
            &scheme,
            pairs(),
            day_start(previous_from),
            day_start(from),
            &inputs,
        );
        let mut evaluation =
            evaluate_facts(&scheme, pairs(), day_start(from), day_start(to), &inputs);
        attach_trend(&mut evaluation, &previous);
        if let Some(k) = kind {
            evaluation.objects.retain(|o| o.object.kind == k);
        }
        if !explain {
            for o in &mut evaluation.objects {
                for f in o.figures.values_mut() {
                    f.cases_num.clear();
                    f.cases_den.clear();
                }
            }
        }
        Ok(EvaluationView {
            from,
            to,
            previous_from,
            cases_considered: cases.len(),
            evaluation,
        })
    }
}
