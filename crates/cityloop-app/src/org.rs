//! Administrative areas and departments.

use cityloop_domain::case::Step;
use cityloop_domain::{Action, AreaCode, FieldError, Target};
use cityloop_store::{
    Area, AreaNew, AreaUpdate, CaseQuery, Department, DepartmentNew, DepartmentUpdate,
};
use serde_json::json;

use crate::{Actor, App, AppError, AppResult, Ctx, Obj, department_chain};

pub struct AreaInput {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
}

pub struct DepartmentInput {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    /// Code of the parent department, for a sub-unit.
    pub parent_code: Option<String>,
    pub kind: String,
    pub phone: Option<String>,
}

pub struct DepartmentPatch {
    pub name: Option<String>,
    pub name_en: Option<Option<String>>,
    /// `Some(None)` (or an empty code) makes a sub-unit a department of its own.
    pub parent_code: Option<Option<String>>,
    pub kind: Option<String>,
    pub phone: Option<Option<String>>,
    pub active: Option<bool>,
    pub version: i64,
}

pub(crate) fn clean_name(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, format!("at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

fn clean_opt(field: &str, s: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => clean_name(field, v, max).map(Some),
    }
}

pub(crate) fn clean_phone(s: Option<String>) -> Result<Option<String>, FieldError> {
    let s = clean_opt("phone", s, 32)?;
    if let Some(p) = &s
        && !p
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '))
    {
        return Err(FieldError::new("phone", "digits, spaces, + and - only"));
    }
    Ok(s)
}

const DEPARTMENT_KINDS: [&str; 3] = ["centre", "department", "street_office"];

/// Every step a case can be in before it is closed.
fn open_steps() -> Vec<String> {
    Step::CODES
        .iter()
        .filter(|c| **c != "closed")
        .map(|c| (*c).to_owned())
        .collect()
}

impl App {
    pub async fn list_areas(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<Area>> {
        self.authorize(
            actor,
            Action::AreaRead,
            &Target::Collection,
            Obj::kind("area"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_areas().await?)
    }

    pub async fn get_area(&self, actor: &Actor, code: &str, ctx: &Ctx) -> AppResult<Area> {
        let parsed = AreaCode::parse(code)?;
        self.authorize(
            actor,
            Action::AreaRead,
            &Target::Area(&parsed),
            Obj::new("area", code),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        tx.get_area(code).await?.ok_or(AppError::NotFound("area"))
    }

    pub async fn create_area(&self, actor: &Actor, input: AreaInput, ctx: &Ctx) -> AppResult<Area> {
        let code = AreaCode::parse(&input.code)?;
        let name = clean_name("name", &input.name, 64)?;
        let name_en = clean_opt("name_en", input.name_en, 128)?;
        self.authorize(
            actor,
            Action::AreaWrite,
            &Target::Area(&code),
            Obj::new("area", &code),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        if tx.get_area(code.as_str()).await?.is_some() {
            return Err(AppError::Conflict(format!("area {code} exists")));
        }
        let parent = code.parent();
        if let Some(parent) = &parent
            && tx.get_area(parent.as_str()).await?.is_none()
        {
            return Err(FieldError::new(
                "code",
                format!(
                    "parent {} {parent} does not exist",
                    parent.level().name_zh()
                ),
            )
            .into());
        }
        let area = tx
            .insert_area(&AreaNew {
                code: code.to_string(),
                parent_code: parent.map(|p| p.to_string()),
                level: code.level().as_str().to_owned(),
                name,
                name_en,
                now: self.now(),
            })
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "area.create",
            Obj::new("area", &code),
            "ok",
            ctx,
            json!(area),
        )
        .await?;
        tx.commit().await?;
        Ok(area)
    }

    pub async fn rename_area(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        name_en: Option<String>,
        version: i64,
        ctx: &Ctx,
    ) -> AppResult<Area> {
        let parsed = AreaCode::parse(code)?;
        let name = clean_name("name", name, 64)?;
        let name_en = clean_opt("name_en", name_en, 128)?;
        self.authorize(
            actor,
            Action::AreaWrite,
            &Target::Area(&parsed),
            Obj::new("area", code),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        let before = tx.get_area(code).await?.ok_or(AppError::NotFound("area"))?;
        if before.version != version {
            return Err(AppError::VersionConflict {
                current: Some(json!(before)),
            });
        }
        let update = AreaUpdate {
            name,
            name_en,
            expected_version: version,
            now: self.now(),
        };
        let after = self
            .or_current(tx.update_area(code, &update).await, "area", code)
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "area.update",
            Obj::new("area", code),
            "ok",
            ctx,
            json!({ "before": before, "after": after }),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn list_departments(&self, actor: &Actor, ctx: &Ctx) -> AppResult<Vec<Department>> {
        self.authorize(
            actor,
            Action::DepartmentRead,
            &Target::Collection,
            Obj::kind("department"),
            ctx,
        )
        .await?;
        let mut tx = self.store.read().await?;
        Ok(tx.list_departments().await?)
    }

    pub async fn get_department(&self, actor: &Actor, id: i64, ctx: &Ctx) -> AppResult<Department> {
        let mut tx = self.store.read().await?;
        let all = tx.list_departments().await?;
        drop(tx);
        let dept = all
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or(AppError::NotFound("department"))?;
        let chain = department_chain(&all, Some(id));
        self.authorize(
            actor,
            Action::DepartmentRead,
            &Target::Department { chain: &chain },
            Obj::new("department", id),
            ctx,
        )
        .await?;
        Ok(dept)
    }

    pub async fn create_department(
        &self,
        actor: &Actor,
        input: DepartmentInput,
        ctx: &Ctx,
    ) -> AppResult<Department> {
        let code = input.code.trim().to_owned();
        if code.is_empty()
            || code.len() > 32
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FieldError::new("code", "1 to 32 letters, digits, - or _").into());
        }
        let name = clean_name("name", &input.name, 64)?;
        let name_en = clean_opt("name_en", input.name_en, 128)?;
        let phone = clean_phone(input.phone)?;
        if !DEPARTMENT_KINDS.contains(&input.kind.as_str()) {
            return Err(FieldError::new("kind", "one of centre, department, street_office").into());
        }
        self.authorize(
            actor,
            Action::DepartmentWrite,
            &Target::Collection,
            Obj::new("department", &code),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        let parent_id = match input.parent_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(pc) => {
                let parent = tx
                    .get_department_by_code(pc)
                    .await?
                    .ok_or_else(|| FieldError::new("parent_code", format!("no department {pc}")))?;
                if parent.parent_id.is_some() {
                    return Err(FieldError::new(
                        "parent_code",
                        "sub-units (二级单位) cannot have sub-units of their own",
                    )
                    .into());
                }
                Some(parent.id)
            }
        };
        if tx.get_department_by_code(&code).await?.is_some() {
            return Err(AppError::Conflict(format!("department {code} exists")));
        }
        let dept = tx
            .insert_department(&DepartmentNew {
                code,
                name,
                name_en,
                parent_id,
                kind: input.kind,
                phone,
                now: self.now(),
            })
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "department.create",
            Obj::new("department", dept.id),
            "ok",
            ctx,
            json!(dept),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_departments();
        Ok(dept)
    }

    pub async fn update_department(
        &self,
        actor: &Actor,
        id: i64,
        patch: DepartmentPatch,
        ctx: &Ctx,
    ) -> AppResult<Department> {
        self.authorize(
            actor,
            Action::DepartmentWrite,
            &Target::Collection,
            Obj::new("department", id),
            ctx,
        )
        .await?;
        let mut tx = self.store.write().await?;
        let before = tx
            .get_department(id)
            .await?
            .ok_or(AppError::NotFound("department"))?;
        if before.version != patch.version {
            return Err(AppError::VersionConflict {
                current: Some(json!(before)),
            });
        }
        let kind = match patch.kind {
            Some(k) if !DEPARTMENT_KINDS.contains(&k.as_str()) => {
                return Err(
                    FieldError::new("kind", "one of centre, department, street_office").into(),
                );
            }
            Some(k) => k,
            None => before.kind.clone(),
        };
        let parent_id = match patch.parent_code {
            None => before.parent_id,
            Some(code) => match code.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(pc) => {
                    let parent = tx.get_department_by_code(pc).await?.ok_or_else(|| {
                        FieldError::new("parent_code", format!("no department {pc}"))
                    })?;
                    if parent.id == id {
                        return Err(FieldError::new(
                            "parent_code",
                            "a department is not its own parent",
                        )
                        .into());
                    }
                    if parent.parent_id.is_some() {
                        return Err(FieldError::new(
                            "parent_code",
                            "sub-units (二级单位) cannot have sub-units of their own",
                        )
                        .into());
                    }
                    let has_units = tx
                        .list_departments()
                        .await?
                        .iter()
                        .any(|d| d.parent_id == Some(id));
                    if has_units {
                        return Err(FieldError::new(
                            "parent_code",
                            "this department has sub-units; move them first (two levels only)",
                        )
                        .into());
                    }
                    Some(parent.id)
                }
            },
        };
        let update = DepartmentUpdate {
            parent_id,
            kind,
            name: match patch.name {
                Some(n) => clean_name("name", &n, 64)?,
                None => before.name.clone(),
            },
            name_en: match patch.name_en {
                Some(n) => clean_opt("name_en", n, 128)?,
                None => before.name_en.clone(),
            },
            phone: match patch.phone {
                Some(p) => clean_phone(p)?,
                None => before.phone.clone(),
            },
            active: patch.active.unwrap_or(before.active),
            expected_version: patch.version,
            now: self.now(),
        };
        if before.active && !update.active {
            // Dispatch only offers active departments, so a disabled one would keep its open
            // cases with nobody able to pick them up again; they are moved on first.
            let open = tx
                .count_cases(&CaseQuery {
                    steps: Some(open_steps()),
                    departments: Some(vec![before.code.clone()]),
                    limit: 1,
                    ..Default::default()
                })
                .await?;
            if open > 0 {
                return Err(AppError::rejected(
                    "department_has_open_cases",
                    "active",
                    format!(
                        "{} still has {open} open case(s); finish or reassign them before disabling it",
                        before.code
                    ),
                ));
            }
        }
        let after = self
            .or_current(
                tx.update_department(id, &update).await,
                "department",
                &id.to_string(),
            )
            .await?;
        self.audit(
            tx.as_mut(),
            actor,
            "department.update",
            Obj::new("department", id),
            "ok",
            ctx,
            json!({ "before": before, "after": after }),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_departments();
        Ok(after)
    }
}

impl App {
    /// A department by id without a scope check: for showing users their own department.
    pub async fn department_of(&self, id: i64) -> AppResult<Option<Department>> {
        let mut tx = self.store.read().await?;
        Ok(tx.get_department(id).await?)
    }
}
