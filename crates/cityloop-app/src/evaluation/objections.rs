//! Objections (申诉): a department (or sub-unit) disputes how one case counts in its evaluation;
//! an administrator accepts or rejects, with the decision audited. An accepted objection removes
//! the disputed counters of that department earned by that case — in the rollups at once (in the
//! decision's transaction) and in every recomputation from the events — so every later figure
//! reflects it. Published evaluations are snapshots and stay as announced.

use cityloop_domain::{Action, Target};
use cityloop_eval::{Counter, Exclusion, ObjectKind, ObjectRef, case_facts, credits, rollup_delta};
use cityloop_store::{ObjectionQuery, ObjectionRecord};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

/// An objection with its counters spelled out.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectionView {
    pub id: i64,
    pub case_id: String,
    pub object_kind: String,
    pub object_id: String,
    /// Counter codes disputed; empty means the case should not count for the object at all.
    pub counters: Vec<String>,
    pub reason: String,
    pub status: String,
    pub filed_by: i64,
    pub filed_at: chrono::DateTime<chrono::Utc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub decision_note: Option<String>,
}

fn view(r: ObjectionRecord) -> ObjectionView {
    ObjectionView {
        counters: serde_json::from_str(&r.counters).unwrap_or_default(),
        id: r.id,
        case_id: r.case_id,
        object_kind: r.object_kind,
        object_id: r.object_id,
        reason: r.reason,
        status: r.status,
        filed_by: r.filed_by,
        filed_at: r.filed_at,
        decided_by: r.decided_by,
        decided_at: r.decided_at,
        decision_note: r.decision_note,
    }
}

fn counter_of(code: &str) -> Option<Counter> {
    Counter::ALL.into_iter().find(|c| c.code() == code)
}

/// The exclusions of accepted objections, as the fact computation takes them.
pub(crate) fn exclusions(records: &[ObjectionRecord]) -> Vec<Exclusion> {
    records
        .iter()
        .filter(|r| r.status == "accepted")
        .filter_map(|r| {
            let kind = ObjectKind::ALL
                .into_iter()
                .find(|k| k.code() == r.object_kind)?;
            let codes: Vec<String> = serde_json::from_str(&r.counters).ok()?;
            Some(Exclusion {
                object: ObjectRef::new(kind, r.object_id.clone()),
                counters: codes.iter().filter_map(|c| counter_of(c)).collect(),
            })
        })
        .collect()
}

impl App {
    /// Files an objection of `department` (a department code; the filer's own department when
    /// absent) against the counting of one case. `counters` names the disputed counters (codes as
    /// in the evaluation's figures); empty disputes the case as a whole. The case must actually
    /// have given the department those counters.
    pub async fn file_objection(
        &self,
        actor: &Actor,
        case_id: &str,
        department: Option<&str>,
        counters: &[String],
        reason: &str,
        ctx: &Ctx,
    ) -> AppResult<ObjectionView> {
        let departments = self.departments().await?;
        let own = match actor {
            Actor::User(p) => p.user.department_id,
            Actor::System(_) => None,
        };
        let dept = match department {
            Some(code) => departments.iter().find(|d| d.code == code).ok_or_else(|| {
                AppError::rejected(
                    "unknown_department",
                    "department",
                    format!("no department {code}"),
                )
            })?,
            None => departments
                .iter()
                .find(|d| Some(d.id) == own)
                .ok_or_else(|| {
                    AppError::rejected(
                        "department_required",
                        "department",
                        "name the department the objection is for",
                    )
                })?,
        };
        let chain = crate::department_chain(&departments, Some(dept.id));
        self.authorize(
            actor,
            Action::EvaluationObject,
            &Target::Department { chain: &chain },
            Obj::new("case", case_id),
            ctx,
        )
        .await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::rejected(
                "reason_required",
                "reason",
                "an objection needs a reason",
            ));
        }
        let mut parsed = Vec::new();
        for code in counters {
            parsed.push(counter_of(code).ok_or_else(|| {
                AppError::rejected(
                    "unknown_counter",
                    "counters",
                    format!("unknown counter {code}"),
                )
            })?);
        }
        // Lead departments are evaluated as `department`, second-level units as `sub_unit`: the
        // objection applies to whichever the case credited.
        let (events, accepted) = {
            let mut tx = self.store.read().await?;
            if tx.get_case(case_id).await?.is_none() {
                return Err(AppError::NotFound("case"));
            }
            let accepted = tx
                .list_objections(&ObjectionQuery {
                    status: Some("accepted".into()),
                    case_id: Some(case_id.to_owned()),
                    ..Default::default()
                })
                .await?;
            (tx.case_events(case_id).await?, accepted)
        };
        let mut facts = self.facts_of_events(&events).await?;
        facts.excluded = exclusions(&accepted);
        let earned = credits(&facts, None);
        let kind = [ObjectKind::Department, ObjectKind::SubUnit]
            .into_iter()
            .find(|&k| {
                let object = ObjectRef::new(k, dept.code.clone());
                earned.iter().any(|c| {
                    c.object == object && (parsed.is_empty() || parsed.contains(&c.counter))
                })
            })
            .ok_or_else(|| {
                AppError::rejected(
                    "not_counted",
                    "case_id",
                    format!(
                        "case {case_id} gives {} none of the disputed counters",
                        dept.name
                    ),
                )
            })?;
        let record = ObjectionRecord {
            id: 0,
            case_id: case_id.to_owned(),
            object_kind: kind.code().to_owned(),
            object_id: dept.code.clone(),
            counters: serde_json::to_string(counters).unwrap_or_else(|_| "[]".into()),
            reason: reason.to_owned(),
            status: "pending".into(),
            filed_by: actor.id().unwrap_or(0),
            filed_at: self.now(),
            decided_by: None,
            decided_at: None,
            decision_note: None,
        };
        let mut tx = self.store.write().await?;
        let id = match tx.insert_objection(&record).await {
            Ok(id) => id,
            Err(cityloop_store::StoreError::Conflict(_)) => {
                return Err(AppError::Conflict(format!(
                    "{} already has a pending objection on case {case_id}",
                    dept.name
                )));
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation_objection.file",
            Obj::new("evaluation_objection", id),
            "ok",
            ctx,
            serde_json::json!({"case": case_id, "object": [record.object_kind, record.object_id], "counters": counters}),
        )
        .await?;
        tx.commit().await?;
        Ok(view(ObjectionRecord { id, ..record }))
    }

    /// Objections the caller may see: all of them for the centre and the administrators, those
    /// of their own department tree for a department.
    pub async fn list_objections(
        &self,
        actor: &Actor,
        status: Option<&str>,
        ctx: &Ctx,
    ) -> AppResult<Vec<ObjectionView>> {
        let mut query = ObjectionQuery {
            status: status.map(str::to_owned),
            ..Default::default()
        };
        // Listing is not an attempt at anything: ask the policy without auditing a denial.
        let everything = self.permits(actor, Action::EvaluationDecide)
            || self.permits(actor, Action::EvaluationRead);
        if !everything {
            self.authorize(
                actor,
                Action::EvaluationObject,
                &Target::Collection,
                Obj::kind("evaluation_objection"),
                ctx,
            )
            .await?;
            let departments = self.departments().await?;
            let own = match actor {
                Actor::User(p) => p.user.department_id,
                Actor::System(_) => None,
            };
            let codes: Vec<String> = departments
                .iter()
                .filter(|d| {
                    crate::department_chain(&departments, Some(d.id)).contains(&own.unwrap_or(-1))
                })
                .map(|d| d.code.clone())
                .collect();
            let mut out = Vec::new();
            for kind in [ObjectKind::Department, ObjectKind::SubUnit] {
                query.objects = Some((kind.code().to_owned(), codes.clone()));
                let mut tx = self.store.read().await?;
                out.extend(tx.list_objections(&query).await?.into_iter().map(view));
            }
            out.sort_by_key(|o| std::cmp::Reverse(o.id));
            return Ok(out);
        }
        let mut tx = self.store.read().await?;
        Ok(tx
            .list_objections(&query)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Accepts or rejects a pending objection. Accepting removes the disputed counters from the
    /// rollups in the same transaction; both outcomes are audited with the note.
    pub async fn decide_objection(
        &self,
        actor: &Actor,
        id: i64,
        accept: bool,
        note: &str,
        ctx: &Ctx,
    ) -> AppResult<ObjectionView> {
        self.authorize(
            actor,
            Action::EvaluationDecide,
            &Target::Collection,
            Obj::new("evaluation_objection", id),
            ctx,
        )
        .await?;
        let note = note.trim();
        if note.is_empty() {
            return Err(AppError::rejected(
                "note_required",
                "note",
                "a decision needs a note explaining it",
            ));
        }
        let now = self.now();
        let status = if accept { "accepted" } else { "rejected" };
        let mut tx = self.store.write().await?;
        let Some(record) = tx.get_objection(id).await? else {
            return Err(AppError::NotFound("objection"));
        };
        if record.status != "pending"
            || !tx
                .decide_objection(id, status, actor.id(), now, note)
                .await?
        {
            return Err(AppError::Conflict(format!(
                "objection {id} was already {}",
                record.status
            )));
        }
        let mut changes = 0usize;
        if accept {
            let events = tx.case_events(&record.case_id).await?;
            let case = tx.get_case(&record.case_id).await?;
            let accepted = tx
                .list_objections(&ObjectionQuery {
                    status: Some("accepted".into()),
                    case_id: Some(record.case_id.clone()),
                    ..Default::default()
                })
                .await?;
            let rule_sets = self.rule_sets_of(&events).await?;
            let process = self.process_limits(now).await?;
            let calendar = self.calendar();
            let fctx = cityloop_eval::FactContext::new(&calendar, &rule_sets, &process);
            let mut before = case_facts(&events, &fctx);
            let mut after = before.clone();
            // `accepted` already includes this objection: the transaction sees its own write.
            before.excluded = exclusions(
                &accepted
                    .iter()
                    .filter(|r| r.id != id)
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            after.excluded = exclusions(&accepted);
            let meta = case.as_ref().and_then(|c| super::meta_of(&c.intake));
            let deltas = rollup_delta(Some((&before, meta.as_ref())), (&after, meta.as_ref()));
            changes = deltas.iter().map(|d| d.changes.len()).sum();
            super::apply_rollup_deltas(tx.as_mut(), &deltas, now).await?;
        }
        self.audit(
            tx.as_mut(),
            actor,
            "evaluation_objection.decide",
            Obj::new("evaluation_objection", id),
            "ok",
            ctx,
            serde_json::json!({"case": record.case_id, "decision": status, "note": note, "counters_removed": changes}),
        )
        .await?;
        tx.commit().await?;
        Ok(view(ObjectionRecord {
            status: status.into(),
            decided_by: actor.id(),
            decided_at: Some(now),
            decision_note: Some(note.to_owned()),
            ..record
        }))
    }

    /// Facts of one case from its events (no exclusions applied).
    pub(crate) async fn facts_of_events(
        &self,
        events: &[cityloop_domain::case::Event],
    ) -> AppResult<cityloop_eval::CaseFacts> {
        let rule_sets = self.rule_sets_of(events).await?;
        let process = self.process_limits(self.now()).await?;
        let calendar = self.calendar();
        let fctx = cityloop_eval::FactContext::new(&calendar, &rule_sets, &process);
        Ok(case_facts(events, &fctx))
    }
}
