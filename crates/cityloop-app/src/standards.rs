//! Standards as data: the taxonomy, versioned rule sets (filing conditions, process limits, the
//! responsibility matrix) and the working calendar.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cityloop_domain::calendar::{
    BUILTIN_HOLIDAYS_CSV, CHINA_OFFSET, DayRule, Deadline, TimeLimit, WorkCalendar, WorkSchedule,
    parse_holiday_csv,
};
use cityloop_domain::responsibility::{self, Candidate, MatrixEntry, MatrixReport, Situation};
use cityloop_domain::rules::{
    self, ConditionKey, DepartmentName, FilingCondition, ProcessLimits, RowError, RuleSetContent,
    RuleSetDiff, ValidationReport,
};
use cityloop_domain::taxonomy::{ClassKind, ClassRef, TaxonomyClass, builtin_classes};
use cityloop_domain::{Action, AreaCode, AreaLevel, FieldError, Target};
use cityloop_store::{RuleSetNew, RuleSetRecord, StoredClass, Tx};
use serde::Serialize;
use serde_json::json;

use crate::rules_io::{self, ParsedTable};
use crate::{Actor, App, AppError, AppResult, Ctx, Obj};

const META_TAXONOMY: &str = "builtin.taxonomy";
const META_CALENDAR: &str = "builtin.calendar";
const META_SCHEDULE: &str = "calendar.schedule";
/// Moves on every calendar edit, so that other instances reload.
const META_CALENDAR_REVISION: &str = "calendar.revision";

/// A rule set with its content decoded.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSet {
    #[serde(flatten)]
    pub record: RuleSetRecord,
    #[serde(skip)]
    pub content: RuleSetContent,
}

/// The answer to "is this draft ready to publish?".
#[derive(Debug, Clone, Serialize)]
pub struct RuleSetCheck {
    pub rules: ValidationReport,
    pub matrix: MatrixReport,
    /// Against the rule set in force now.
    pub diff: RuleSetDiff,
}

/// A department a case could be dispatched to, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DispatchSuggestion {
    pub department: String,
    pub assisting: Vec<String>,
    /// `matrix` (the responsibility matrix) or `filing_rule` (the condition's default department).
    pub source: &'static str,
    pub matrix_entry: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalendarOverview {
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
    /// Set when deadlines will soon be computed past the loaded holiday schedule.
    pub warning: Option<String>,
    pub schedule: WorkSchedule,
    pub days: Vec<DayRule>,
}

pub struct NewClass {
    pub class: ClassRef,
    pub major_name: String,
    pub name: String,
    pub major_name_en: String,
    pub name_en: String,
    pub notes: String,
}

pub struct ClassPatch {
    pub enabled: Option<bool>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
}

/// What to do with a parsed rules table.
pub struct ImportRequest {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// For rows and sheets that do not say whether they are 部件 or 事件.
    pub default_kind: Option<ClassKind>,
    /// The draft to import into; `None` creates a new draft from the rule set in force.
    pub draft_id: Option<i64>,
    pub name: Option<String>,
}

pub(crate) fn parse_content(r: &RuleSetRecord) -> AppResult<RuleSetContent> {
    serde_json::from_value(r.content.clone())
        .map_err(|e| AppError::Internal(format!("rule set {} content: {e}", r.id)))
}

fn to_json(c: &RuleSetContent) -> AppResult<serde_json::Value> {
    serde_json::to_value(c).map_err(|e| AppError::Internal(e.to_string()))
}

/// The published rule set in force on the local (UTC+8) date of `at`.
pub(crate) fn in_force(sets: &[RuleSetRecord], at: DateTime<Utc>) -> Option<&RuleSetRecord> {
    let day = at.with_timezone(&CHINA_OFFSET).date_naive();
    sets.iter()
        .filter(|r| r.status == "published" && r.effective_from.is_some_and(|d| d <= day))
        .max_by_key(|r| (r.effective_from, r.number))
}

impl App {
    /// Loads the built-in data the first time a database is used (taxonomy, holiday calendar) and
    /// the working calendar into memory. Idempotent; administrators' later edits are kept.
    pub async fn prepare(&self) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store.write().await?;
        if tx.get_meta(META_TAXONOMY).await?.is_none() {
            for c in builtin_classes() {
                tx.insert_class_if_absent(&c, now).await?;
            }
            tx.set_meta(META_TAXONOMY, "1", now).await?;
        }
        if tx.get_meta(META_CALENDAR).await?.is_none() {
            let days = parse_holiday_csv(BUILTIN_HOLIDAYS_CSV)
                .map_err(|e| AppError::Internal(format!("built-in calendar: {e}")))?;
            for d in &days {
                tx.upsert_calendar_day(d, now).await?;
            }
            tx.set_meta(META_CALENDAR, "1", now).await?;
        }
        tx.commit().await?;
        self.reload_calendar().await?;
        self.reload_spatial().await?;
        self.ensure_rollups().await
    }

    async fn reload_calendar(&self) -> AppResult<()> {
        let mut tx = self.store.read().await?;
        let revision = tx.get_meta(META_CALENDAR_REVISION).await?;
        let cal = load_calendar(tx.as_mut()).await?;
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(cal);
        *self
            .calendar_revision
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = revision;
        Ok(())
    }

    /// Reloads the working calendar when another instance changed it.
    pub async fn refresh_calendar_if_changed(&self) -> AppResult<bool> {
        let current = {
            let mut tx = self.store.read().await?;
            tx.get_meta(META_CALENDAR_REVISION).await?
        };
        let known = self
            .calendar_revision
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if current != known {
            self.reload_calendar().await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// The working calendar in use.
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        self.calendar
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    // ---------- taxonomy ----------

    pub async fn list_classes(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<StoredClass>> {
        self.authorize(
            actor,
            Action::TaxonomyRead,
            &Target::Collection,
            Obj::kind("class"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_classes().await?)
    }

    /// Adds a city's own class (e.g. a component major 21–29).
    pub async fn create_class(
        &self,
        actor: &Actor,
        n: NewClass,
        ctx: &Ctx,
    ) -> AppResult<StoredClass> {
        self.authorize(
            actor,
            Action::TaxonomyWrite,
            &Target::Collection,
            Obj::new("class", n.class),
            ctx,
        )
        .await?;
        let clean = |f: &str, s: &str| crate::org::clean_name(f, s, 64);
        let class = TaxonomyClass {
            class: n.class,
            major_name: clean("major_name", &n.major_name)?,
            name: clean("name", &n.name)?,
            major_name_en: n.major_name_en.trim().to_owned(),
            name_en: n.name_en.trim().to_owned(),
            confidence: "local".into(),
            notes: n.notes.trim().to_owned(),
            builtin: false,
            enabled: true,
        };
        let now = self.now();
        let mut tx = self.store.write().await?;
        let existing = tx.list_classes().await?;
        if existing.iter().any(|c| c.class.class == class.class) {
            return Err(AppError::Conflict(format!("class {} exists", class.class)));
        }
        if let Some(m) = existing.iter().find(|c| {
            c.class.class.kind == class.class.kind && c.class.class.major() == class.class.major()
        }) && m.class.major_name != class.major_name
        {
            return Err(FieldError::new(
                "major_name",
                format!(
                    "major {} is called {}",
                    class.class.major(),
                    m.class.major_name
                ),
            )
            .into());
        }
        tx.insert_class_if_absent(&class, now).await?;
        let stored = tx
            .list_classes()
            .await?
            .into_iter()
            .find(|c| c.class.class == class.class)
            .ok_or(AppError::NotFound("class"))?;
        self.audit(
            tx.as_mut(),
            actor,
            "class.create",
            Obj::new("class", class.class),
            "ok",
            ctx,
            json!(stored),
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Enables or disables a class, or renames it.
    pub async fn update_class(
        &self,
        actor: &Actor,
        class: ClassRef,
        p: ClassPatch,
        ctx: &Ctx,
    ) -> AppResult<StoredClass> {
        self.authorize(
            actor,
            Action::TaxonomyWrite,
            &Target::Collection,
            Obj::new("class", class),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        let before = tx
            .list_classes()
            .await?
            .into_iter()
            .find(|c| c.class.class == class)
            .ok_or(AppError::NotFound("class"))?;
        if before.version != p.version {
            return Err(AppError::VersionConflict {
                current: Some(json!(before)),
            });
        }
        let mut next = before.class.clone();
        if let Some(e) = p.enabled {
            next.enabled = e;
        }
        if let Some(n) = &p.name {
            next.name = crate::org::clean_name("name", n, 64)?;
        }
        if let Some(n) = p.name_en {
            next.name_en = n.trim().to_owned();
        }
        if let Some(n) = p.notes {
            next.notes = n.trim().to_owned();
        }
        let after = self
            .or_current(
                tx.update_class(&next, p.version, self.now()).await,
                "class",
                &class.to_string(),
            )
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "class.update",
            Obj::new("class", class),
            "ok",
            ctx,
            json!({ "before": before, "after": after }),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---------- rule sets ----------

    pub async fn list_rule_sets(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<RuleSetRecord>> {
        self.authorize(
            actor,
            Action::RulesRead,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_rule_sets().await?)
    }

    pub async fn get_rule_set(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<RuleSet> {
        self.authorize(
            actor,
            Action::RulesRead,
            &Target::Collection,
            Obj::new("rule_set", id),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        let record = tx
            .get_rule_set(id)
            .await?
            .ok_or(AppError::NotFound("rule set"))?;
        let content = parse_content(&record)?;
        Ok(RuleSet { record, content })
    }

    /// The published rule set in force at `at` (what a case filed then is filed under).
    pub async fn rule_set_in_force(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        ctx: &Ctx,
    ) -> AppResult<Option<RuleSet>> {
        self.authorize(
            actor,
            Action::RulesRead,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        self.load_in_force(at).await
    }

    async fn load_in_force(&self, at: DateTime<Utc>) -> AppResult<Option<RuleSet>> {
        let mut tx = self.store.read().await?;
        let sets = tx.list_rule_sets().await?;
        match in_force(&sets, at) {
            Some(r) => Ok(Some(RuleSet {
                content: parse_content(r)?,
                record: r.clone(),
            })),
            None => Ok(None),
        }
    }

    /// A new draft, copied from `based_on` or else from the rule set in force (or empty).
    pub async fn create_draft(
        &self,
        actor: &Actor,
        name: &str,
        based_on: Option<i64>,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        self.authorize(
            actor,
            Action::RulesWrite,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let draft = self
            .new_draft(tx.as_mut(), actor, name, based_on, now)
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "rule_set.create",
            Obj::new("rule_set", draft.record.id),
            "ok",
            ctx,
            json!({ "number": draft.record.number, "based_on": draft.record.based_on }),
        )
        .await?;
        tx.commit().await?;
        Ok(draft)
    }

    async fn new_draft(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        name: &str,
        based_on: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<RuleSet> {
        let sets = tx.list_rule_sets().await?;
        let base = match based_on {
            Some(id) => Some(
                sets.iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| FieldError::new("based_on", format!("no rule set {id}")))?,
            ),
            None => in_force(&sets, now),
        };
        let content = match base {
            Some(b) => parse_content(b)?,
            None => RuleSetContent::default(),
        };
        let number = tx.next_rule_set_number().await?;
        let name = match name.trim() {
            "" => format!("立结案标准 第{number}版"),
            n => crate::org::clean_name("name", n, 100)?,
        };
        let record = tx
            .insert_rule_set(&RuleSetNew {
                number,
                name,
                content: to_json(&content)?,
                based_on: base.map(|b| b.id),
                created_by: actor.name(),
                now,
            })
            .await?;
        Ok(RuleSet { record, content })
    }

    /// Imports a CSV or XLSX rules table into a draft: its conditions replace the draft's
    /// conditions of the kinds the file contains. All or nothing: any bad row rejects the file with
    /// every offending row listed.
    pub async fn import_rules(
        &self,
        actor: &Actor,
        req: ImportRequest,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        self.authorize(
            actor,
            Action::RulesWrite,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        let parsed = rules_io::parse_file(&req.file_name, &req.bytes).map_err(AppError::Rows)?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let (imported, process) = self
            .conditions_of(tx.as_mut(), &parsed, req.default_kind)
            .await?;
        let mut draft = match req.draft_id {
            Some(id) => {
                let record = tx
                    .get_rule_set(id)
                    .await?
                    .ok_or(AppError::NotFound("rule set"))?;
                if record.status != "draft" {
                    return Err(AppError::Conflict(format!(
                        "rule set {id} is published; import into a draft"
                    )));
                }
                RuleSet {
                    content: parse_content(&record)?,
                    record,
                }
            }
            None => {
                self.new_draft(
                    tx.as_mut(),
                    actor,
                    req.name.as_deref().unwrap_or(""),
                    None,
                    now,
                )
                .await?
            }
        };
        let kinds: Vec<ClassKind> = imported.iter().map(|c| c.class.kind).collect();
        let before = draft.content.clone();
        draft
            .content
            .conditions
            .retain(|c| !kinds.contains(&c.class.kind));
        draft.content.conditions.extend(imported);
        draft.content.conditions.sort_by_key(|c| c.class);
        if let Some(sheet) = process {
            for (step, limit) in sheet.limits {
                draft.content.process.limits.insert(step, limit);
            }
            if let Some(p) = sheet.warn_at_percent {
                draft.content.process.warn_at_percent = p;
            }
        }
        let name = req.name.unwrap_or_else(|| draft.record.name.clone());
        let record = tx
            .update_rule_set_draft(
                draft.record.id,
                &name,
                &to_json(&draft.content)?,
                draft.record.version,
                now,
            )
            .await?;
        let diff = rules::diff(&before, &draft.content);
        self.audit(
            tx.as_mut(),
            actor,
            "rule_set.import",
            Obj::new("rule_set", record.id),
            "ok",
            ctx,
            json!({ "file": req.file_name, "diff": diff }),
        )
        .await?;
        tx.commit().await?;
        Ok(RuleSet {
            record,
            content: draft.content,
        })
    }

    /// Checks a rules file without storing anything.
    pub async fn check_rules_file(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        default_kind: Option<ClassKind>,
        ctx: &Ctx,
    ) -> AppResult<Vec<FilingCondition>> {
        self.authorize(
            actor,
            Action::RulesRead,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        let parsed = rules_io::parse_file(file_name, bytes).map_err(AppError::Rows)?;
        let mut tx = self.store.read().await?;
        Ok(self
            .conditions_of(tx.as_mut(), &parsed, default_kind)
            .await?
            .0)
    }

    async fn conditions_of(
        &self,
        tx: &mut dyn Tx,
        parsed: &ParsedTable,
        default_kind: Option<ClassKind>,
    ) -> AppResult<(Vec<FilingCondition>, Option<rules_io::ProcessSheet>)> {
        let classes = taxonomy_classes(tx).await?;
        let departments = department_names(tx).await?;
        let mut all = Vec::new();
        let mut errors: Vec<RowError> = Vec::new();
        for (kind, rows) in &parsed.sheets {
            match rules::conditions_from_rows(rows, kind.or(default_kind), &classes, &departments) {
                Ok(c) => all.extend(c),
                Err(e) => errors.extend(e),
            }
        }
        // Duplicates across sheets.
        let mut keys = std::collections::BTreeSet::new();
        for c in &all {
            if !keys.insert(c.key()) {
                errors.push(RowError {
                    source: "file".into(),
                    column: "立案条件",
                    message: format!("duplicate condition {}", c.key()),
                });
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Rows(errors));
        }
        Ok((all, parsed.process.clone()))
    }

    /// Replaces a draft's process limits and warning threshold.
    pub async fn set_process_limits(
        &self,
        actor: &Actor,
        id: i64,
        process: ProcessLimits,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        let problems = process.validate();
        if let Some(p) = problems.first() {
            return Err(FieldError::new("process", p.clone()).into());
        }
        self.edit_draft(actor, id, version, ctx, "rule_set.process", move |c| {
            c.process = process;
            Ok(())
        })
        .await
    }

    /// Adds a filing condition to a draft, or replaces the one with its key (or, when its class,
    /// text or area class changes, the one with the key `replaces`). The condition is checked
    /// against the taxonomy and the departments; the audit record carries the diff.
    pub async fn put_condition(
        &self,
        actor: &Actor,
        id: i64,
        condition: FilingCondition,
        replaces: Option<ConditionKey>,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        // Refuse a reader before telling them what is wrong with the condition.
        self.authorize_rules_write(actor, id, ctx).await?;
        let (classes, departments) = {
            let mut tx = self.store.read().await?;
            (
                taxonomy_classes(tx.as_mut()).await?,
                department_names(tx.as_mut()).await?,
            )
        };
        let condition = rules::check_condition(condition, &classes, &departments)?;
        self.edit_draft(actor, id, version, ctx, "rule_set.condition", move |c| {
            c.put_condition(condition, replaces.as_ref())?;
            Ok(())
        })
        .await
    }

    /// Removes the filing condition with `key` from a draft.
    pub async fn remove_condition(
        &self,
        actor: &Actor,
        id: i64,
        key: ConditionKey,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        self.edit_draft(
            actor,
            id,
            version,
            ctx,
            "rule_set.condition_remove",
            move |c| {
                c.remove_condition(&key)
                    .map(drop)
                    .ok_or(AppError::NotFound("condition"))
            },
        )
        .await
    }

    /// Replaces a draft's responsibility matrix. Entries must be valid; gaps and conflicts are
    /// reported by [`App::check_rule_set`] and warned about at publishing.
    pub async fn set_matrix(
        &self,
        actor: &Actor,
        id: i64,
        matrix: Vec<MatrixEntry>,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<RuleSet> {
        for (i, e) in matrix.iter().enumerate() {
            if let Err(errs) = e.validate()
                && let Some(first) = errs.into_iter().next()
            {
                return Err(
                    FieldError::new(format!("matrix[{i}].{}", first.field), first.message).into(),
                );
            }
        }
        self.edit_draft(actor, id, version, ctx, "rule_set.matrix", move |c| {
            c.matrix = matrix;
            Ok(())
        })
        .await
    }

    /// Authorises a change to rule set `id`, opens the write transaction and loads it, refusing a
    /// published one.
    async fn draft_for_write(
        &self,
        actor: &Actor,
        id: i64,
        ctx: &Ctx,
    ) -> AppResult<(Box<dyn Tx>, RuleSetRecord)> {
        self.authorize_rules_write(actor, id, ctx).await?;
        let mut tx = self.store.write().await?;
        let record = tx
            .get_rule_set(id)
            .await?
            .ok_or(AppError::NotFound("rule set"))?;
        if record.status != "draft" {
            return Err(AppError::Conflict(format!(
                "rule set {id} is published and never changes; start a new draft"
            )));
        }
        Ok((tx, record))
    }

    async fn authorize_rules_write(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<()> {
        self.authorize(
            actor,
            Action::RulesWrite,
            &Target::Collection,
            Obj::new("rule_set", id),
            ctx,
        )
        .await
        .map(drop)
    }

    pub(crate) async fn edit_draft(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        ctx: &Ctx,
        action: &str,
        change: impl FnOnce(&mut RuleSetContent) -> AppResult<()>,
    ) -> AppResult<RuleSet> {
        let (mut tx, record) = self.draft_for_write(actor, id, ctx).await?;
        if record.version != version {
            return Err(AppError::VersionConflict {
                current: Some(json!(record)),
            });
        }
        let before = parse_content(&record)?;
        let mut content = before.clone();
        change(&mut content)?;
        let updated = tx
            .update_rule_set_draft(id, &record.name, &to_json(&content)?, version, self.now())
            .await;
        let record = self
            .or_current(updated, "rule_set", &id.to_string())
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            action,
            Obj::new("rule_set", id),
            "ok",
            ctx,
            json!({ "diff": rules::diff(&before, &content) }),
        )
        .await?;
        tx.commit().await?;
        Ok(RuleSet { record, content })
    }

    /// Validation, responsibility-matrix report and the diff against the rule set in force.
    pub async fn check_rule_set(
        &self,
        actor: &Actor,
        id: i64,
        ctx: &Ctx,
    ) -> AppResult<RuleSetCheck> {
        let set = self.get_rule_set(actor, id, ctx).await?;
        let mut tx = self.store.read().await?;
        self.check_content(tx.as_mut(), &set).await
    }

    async fn check_content(&self, tx: &mut dyn Tx, set: &RuleSet) -> AppResult<RuleSetCheck> {
        let classes = taxonomy_classes(tx).await?;
        let departments = department_names(tx).await?;
        let rules = rules::validate_content(&set.content, &classes, &departments);
        let places: Vec<AreaCode> = tx
            .list_areas()
            .await?
            .into_iter()
            .filter_map(|a| AreaCode::parse(&a.code).ok())
            .filter(|a| a.level() == AreaLevel::Street)
            .collect();
        let enabled: Vec<ClassRef> = classes
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.class)
            .collect();
        let codes: Vec<String> = departments.iter().map(|d| d.code.clone()).collect();
        let matrix = responsibility::report(&set.content.matrix, &enabled, &places, &codes);
        let sets = tx.list_rule_sets().await?;
        // A draft is compared with the rules in force now; a published set with the one it replaced.
        let others: Vec<RuleSetRecord> =
            sets.into_iter().filter(|r| r.id != set.record.id).collect();
        let predecessor = match set.record.effective_from {
            Some(from) if set.record.status == "published" => others
                .iter()
                .filter(|r| r.status == "published" && r.effective_from.is_some_and(|d| d <= from))
                .filter(|r| r.number < set.record.number)
                .max_by_key(|r| (r.effective_from, r.number)),
            _ => in_force(&others, self.now()),
        };
        let current = match predecessor {
            Some(r) => parse_content(r)?,
            None => RuleSetContent::default(),
        };
        Ok(RuleSetCheck {
            rules,
            matrix,
            diff: rules::diff(&current, &set.content),
        })
    }

    /// Publishes a draft from `effective_from` (local date). Refused while it has errors; gaps in
    /// the responsibility matrix are returned as warnings. The audit record carries the diff.
    pub async fn publish_rule_set(
        &self,
        actor: &Actor,
        id: i64,
        effective_from: NaiveDate,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<(RuleSetRecord, RuleSetCheck)> {
        let (mut tx, record) = self.draft_for_write(actor, id, ctx).await?;
        let now = self.now();
        let today = now.with_timezone(&CHINA_OFFSET).date_naive();
        if record.version != version {
            return Err(AppError::VersionConflict {
                current: Some(json!(record)),
            });
        }
        // Cases already filed keep their rules, and a back-dated version would change which rules
        // later evaluations of past periods apply. Only the very first rule set may reach back: no
        // case can have been filed before any rules existed.
        let first = !tx
            .list_rule_sets()
            .await?
            .iter()
            .any(|r| r.status == "published");
        if effective_from < today && !first {
            return Err(FieldError::new(
                "effective_from",
                format!("must be today ({today}) or later"),
            )
            .into());
        }
        let set = RuleSet {
            content: parse_content(&record)?,
            record,
        };
        let check = self.check_content(tx.as_mut(), &set).await?;
        if !check.rules.errors.is_empty() {
            return Err(AppError::Rows(
                check
                    .rules
                    .errors
                    .iter()
                    .map(|e| RowError {
                        source: format!("rule set {id}"),
                        column: "-",
                        message: e.clone(),
                    })
                    .collect(),
            ));
        }
        let published = tx
            .publish_rule_set(id, effective_from, &actor.name(), version, now)
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "rule_set.publish",
            Obj::new("rule_set", id),
            "ok",
            ctx,
            json!({
                "number": published.number,
                "effective_from": effective_from,
                "diff": check.diff,
                "matrix_gaps": check.matrix.gaps.len(),
                "matrix_conflicts": check.matrix.conflicts.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_rules();
        Ok((published, check))
    }

    pub async fn discard_draft(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<()> {
        let (mut tx, record) = self.draft_for_write(actor, id, ctx).await?;
        tx.delete_rule_set_draft(id).await?;
        self.audit(
            tx.as_mut(),
            actor,
            "rule_set.discard",
            Obj::new("rule_set", id),
            "ok",
            ctx,
            json!({ "number": record.number }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A rule set as a CSV or XLSX file in the local layout, with department names.
    pub async fn export_rule_set(
        &self,
        actor: &Actor,
        id: i64,
        xlsx: bool,
        ctx: &Ctx,
    ) -> AppResult<Vec<u8>> {
        let set = self.get_rule_set(actor, id, ctx).await?;
        let mut tx = self.store.read().await?;
        let classes = taxonomy_classes(tx.as_mut()).await?;
        let departments = department_names(tx.as_mut()).await?;
        let name_of = |code: &str| {
            departments
                .iter()
                .find(|d| d.code == code)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| code.to_owned())
        };
        let title = format!(
            "{}（第{}版，{}）",
            set.record.name,
            set.record.number,
            match set.record.effective_from {
                Some(d) => format!("{d} 起施行"),
                None => "草稿".into(),
            }
        );
        let bytes = if xlsx {
            rules_io::export_xlsx(
                &title,
                &set.content.conditions,
                &set.content.process,
                &classes,
                &name_of,
            )?
        } else {
            rules_io::export_csv(&set.content.conditions, &classes, &name_of)?
        };
        Ok(bytes)
    }

    /// Departments to dispatch a case to, most suitable first, from the responsibility matrix of the
    /// rule set in force (falling back to the filing conditions' default department). Departments
    /// that returned the case are skipped.
    pub async fn suggest_departments(
        &self,
        actor: &Actor,
        situation: &Situation,
        at: DateTime<Utc>,
        excluded: &[String],
        ctx: &Ctx,
    ) -> AppResult<Vec<DispatchSuggestion>> {
        self.authorize(
            actor,
            Action::RulesRead,
            &Target::Collection,
            Obj::kind("rule_set"),
            ctx,
        )
        .await?;
        let Some(set) = self.load_in_force(at).await? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<DispatchSuggestion> =
            responsibility::candidates(&set.content.matrix, situation)
                .into_iter()
                .filter(|c| !excluded.contains(&c.department))
                .map(|c: Candidate| DispatchSuggestion {
                    department: c.department,
                    assisting: c.assisting,
                    source: "matrix",
                    matrix_entry: Some(c.entry),
                })
                .collect();
        let defaults = set
            .content
            .conditions
            .iter()
            .filter(|c| c.class == situation.class)
            .filter_map(|c| c.department.clone());
        for d in defaults {
            if !excluded.contains(&d) && !out.iter().any(|c| c.department == d) {
                out.push(DispatchSuggestion {
                    department: d,
                    assisting: Vec::new(),
                    source: "filing_rule",
                    matrix_entry: None,
                });
            }
        }
        Ok(out)
    }

    // ---------- working calendar ----------

    pub async fn calendar_overview(
        &self,
        actor: &Actor,
        year: Option<i32>,
        ctx: &Ctx,
    ) -> AppResult<CalendarOverview> {
        self.authorize(
            actor,
            Action::CalendarRead,
            &Target::Collection,
            Obj::kind("calendar"),
            ctx,
        )
        .await?;
        let cal = self.calendar();
        let years = cal.covered_years();
        let (first, last) = match &years {
            Some(r) => (Some(*r.start()), Some(*r.end())),
            None => (None, None),
        };
        let today = self.now().with_timezone(&CHINA_OFFSET).date_naive();
        let warning = match last {
            None => Some("no holiday schedule is loaded: deadlines count weekends only".to_owned()),
            Some(l) if l < today.year() => Some(format!(
                "the holiday schedule ends with {l}: deadlines in {} count weekends only and are provisional",
                today.year()
            )),
            Some(l) if l == today.year() && today.month() >= 11 => Some(format!(
                "load the {} holiday schedule (published each November) before deadlines reach it",
                l + 1
            )),
            Some(_) => None,
        };
        Ok(CalendarOverview {
            first_year: first,
            last_year: last,
            warning,
            schedule: cal.schedule().clone(),
            days: cal
                .rules()
                .filter(|d| year.is_none_or(|y| d.date.year() == y))
                .cloned()
                .collect(),
        })
    }

    /// Adds or changes calendar days (all or nothing), checking the result is a valid calendar.
    pub async fn set_calendar_days(
        &self,
        actor: &Actor,
        days: Vec<DayRule>,
        ctx: &Ctx,
    ) -> AppResult<usize> {
        self.change_calendar(
            actor,
            ctx,
            "calendar.set",
            json!({ "days": days }),
            move |tx, now| {
                Box::pin(async move {
                    for d in &days {
                        tx.upsert_calendar_day(d, now).await?;
                    }
                    Ok(days.len())
                })
            },
        )
        .await
    }

    /// Imports a holiday CSV (`date,kind,festival`), e.g. next year's State Council schedule.
    pub async fn import_calendar(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        ctx: &Ctx,
    ) -> AppResult<usize> {
        let text = rules_io::decode_text(bytes);
        let days = parse_holiday_csv(&text)
            .map_err(|e| AppError::Invalid(FieldError::new(file_name.to_owned(), e.to_string())))?;
        self.set_calendar_days(actor, days, ctx).await
    }

    pub async fn unset_calendar_day(
        &self,
        actor: &Actor,
        date: NaiveDate,
        ctx: &Ctx,
    ) -> AppResult<bool> {
        self.change_calendar(
            actor,
            ctx,
            "calendar.unset",
            json!({ "date": date }),
            move |tx, _| Box::pin(async move { Ok(tx.delete_calendar_day(date).await?) }),
        )
        .await
    }

    pub async fn set_work_schedule(
        &self,
        actor: &Actor,
        schedule: WorkSchedule,
        ctx: &Ctx,
    ) -> AppResult<()> {
        let text =
            serde_json::to_string(&schedule).map_err(|e| AppError::Internal(e.to_string()))?;
        self.change_calendar(
            actor,
            ctx,
            "calendar.schedule",
            json!({ "schedule": schedule }),
            move |tx, now| {
                Box::pin(async move {
                    tx.set_meta(META_SCHEDULE, &text, now).await?;
                    Ok(())
                })
            },
        )
        .await
    }

    async fn change_calendar<T: Send>(
        &self,
        actor: &Actor,
        ctx: &Ctx,
        action: &str,
        detail: serde_json::Value,
        change: impl for<'t> FnOnce(
            &'t mut dyn Tx,
            DateTime<Utc>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = AppResult<T>> + Send + 't>,
        >,
    ) -> AppResult<T> {
        self.authorize(
            actor,
            Action::CalendarWrite,
            &Target::Collection,
            Obj::kind("calendar"),
            ctx,
        )
        .await?;
        let now = self.now();
        let mut tx = self.store.write().await?;
        let out = change(tx.as_mut(), now).await?;
        // Refuse a change that leaves an unusable calendar (a year without rules between loaded years,
        // an adjusted working day on a weekday…).
        load_calendar(tx.as_mut()).await?;
        // Random, not the time: two edits in one clock tick must still differ.
        tx.set_meta(META_CALENDAR_REVISION, &crate::secret::new_token(""), now)
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            action,
            Obj::kind("calendar"),
            "ok",
            ctx,
            detail,
        )
        .await?;
        tx.commit().await?;
        self.reload_calendar().await?;
        Ok(out)
    }

    /// When a limit started at `start` falls due on the working calendar, and when it enters its
    /// warning window (`warn_at_percent` of the limit).
    pub async fn due(
        &self,
        actor: &Actor,
        start: DateTime<Utc>,
        limit: TimeLimit,
        warn_at_percent: u8,
        ctx: &Ctx,
    ) -> AppResult<(Deadline, Deadline)> {
        self.authorize(
            actor,
            Action::CalendarRead,
            &Target::Collection,
            Obj::kind("calendar"),
            ctx,
        )
        .await?;
        let cal = self.calendar();
        let invalid = |e: cityloop_domain::calendar::CalendarError| {
            AppError::Invalid(FieldError::new("limit", e.to_string()))
        };
        let due = limit.due(&cal, start).map_err(invalid)?;
        let warn = rules::warning_instant(&cal, start, limit, warn_at_percent).map_err(invalid)?;
        Ok((due, warn))
    }
}

async fn taxonomy_classes(tx: &mut dyn Tx) -> AppResult<Vec<TaxonomyClass>> {
    Ok(tx
        .list_classes()
        .await?
        .into_iter()
        .map(|c| c.class)
        .collect())
}

async fn department_names(tx: &mut dyn Tx) -> AppResult<Vec<DepartmentName>> {
    Ok(tx
        .list_departments()
        .await?
        .into_iter()
        .map(|d| DepartmentName {
            code: d.code,
            name: d.name,
        })
        .collect())
}

async fn load_calendar(tx: &mut dyn Tx) -> AppResult<WorkCalendar> {
    let schedule = match tx.get_meta(META_SCHEDULE).await? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::Internal(format!("stored work schedule: {e}")))?,
        None => WorkSchedule::default(),
    };
    let days = tx.list_calendar_days().await?;
    WorkCalendar::new(schedule, days)
        .map_err(|e| AppError::Invalid(FieldError::new("calendar", e.to_string())))
}
